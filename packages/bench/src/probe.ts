/**
 * The correctness probe shared by every body: counts bodies that ran and the
 * high-water mark of bodies in flight at once.
 */
export interface Probe {
  inFlight: number
  highWater: number
  done: number
}

/** The probe of the run in progress; reset before every run. */
export const probe: Probe = { inFlight: 0, highWater: 0, done: 0 }

export const resetProbe = (): void => {
  probe.inFlight = 0
  probe.highWater = 0
  probe.done = 0
}

export const enter = (): void => {
  if (++probe.inFlight > probe.highWater) probe.highWater = probe.inFlight
}

export const exit = (): void => {
  probe.inFlight--
  probe.done++
}

export const enterExit = (): void => {
  enter()
  exit()
}

export interface Check {
  readonly ok: boolean
  readonly message: string
}

/** A run is valid when it ran exactly `n` bodies and never more than `bound` at once. */
export const checkProbe = (n: number, bound: number): Check => {
  if (probe.done !== n) return { ok: false, message: `ran ${probe.done} bodies, expected ${n}` }
  if (probe.inFlight !== 0) return { ok: false, message: `${probe.inFlight} bodies still in flight at the end` }
  if (probe.highWater > bound) return { ok: false, message: `high-water ${probe.highWater} exceeds bound ${bound}` }
  return { ok: true, message: `ok (high-water ${probe.highWater})` }
}
