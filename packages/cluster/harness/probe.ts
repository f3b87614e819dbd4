/**
 * The entity the integration suite and the demo run: `Probe`, a coalesced
 * entity whose runs record themselves in PostgreSQL (`probe_runs`) so that
 * the invariants can be checked from outside the processes.
 *
 * A run inserts a row (key, runner, fencing token, the sequence numbers of
 * the submits it covers), works for `workMs`, then checks its fencing token:
 * if another run of the key took a token meanwhile, the two overlapped, and
 * the row says so. A run interrupted by its runner's shutdown records that
 * too. A run cut off by SIGKILL leaves `ended` NULL.
 */
import { Schema } from "effect"
import { ClusterCoalescer } from "effect-task-cluster"

export const Probe = ClusterCoalescer.make("Probe", {
  payload: Schema.Struct({ seq: Schema.Int }),
  success: Schema.Int
})

export const schema = `
CREATE TABLE IF NOT EXISTS probe_runs (
  id BIGSERIAL PRIMARY KEY,
  key TEXT NOT NULL,
  runner TEXT NOT NULL,
  token BIGINT NOT NULL,
  covered INT[] NOT NULL,
  latest INT NOT NULL,
  started TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  ended TIMESTAMPTZ,
  interrupted BOOLEAN NOT NULL DEFAULT FALSE,
  overlapped BOOLEAN
);
CREATE INDEX IF NOT EXISTS probe_runs_key ON probe_runs (key);
CREATE TABLE IF NOT EXISTS probe_runners (
  runner TEXT PRIMARY KEY,
  workers INT NOT NULL,
  high_water INT NOT NULL DEFAULT 0
);
`
