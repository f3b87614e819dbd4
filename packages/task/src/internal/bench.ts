/**
 * Not part of the API (no semver guarantee): what the benchmark needs to
 * measure the library against itself, exported as `effect-task/internal`.
 *
 * `layerWithoutBookkeeping` builds the same service with `NoAccounting`
 * (`accounting.ts`): no clock readings, duration histograms, run counts or
 * span checks. Everything else — admission, the start queue, quiescence,
 * shutdown — is the code every user runs, in the same module instance, so
 * the bookkeeping's cost is the only difference between the two.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeWithBound, TaskService } from "../TaskService.ts"
import { NoAccounting } from "./accounting.ts"
import { withWorkers } from "./arguments.ts"

/**
 * The service of `TaskService.layerBounded(workers)` (`Infinity`: unbounded)
 * without the bookkeeping.
 *
 * @internal
 */
export const layerWithoutBookkeeping = (workers: number): Layer.Layer<TaskService> =>
  Layer.effect(
    TaskService,
    Effect.suspend(() =>
      withWorkers(
        "layerWithoutBookkeeping",
        workers,
        (bound) => makeWithBound(bound, undefined, (clock) => new NoAccounting(clock))
      )
    )
  )
