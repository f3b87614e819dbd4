/**
 * The shared vocabulary of the coalescer property tests
 * (`Coalescer.random-programs.test.ts`, `Coalescer.random-programs.reconciler.test.ts`):
 * how a generated body waits and ends, and the arbitraries for them; not a
 * test file.
 */
import { Effect } from "effect"
import * as fc from "fast-check"

export const KEYS = 3
export const GATES = 3

export type Wait =
  | { readonly _tag: "none" }
  | { readonly _tag: "gate"; readonly gate: number }
  | { readonly _tag: "sleep"; readonly ms: number }
  | { readonly _tag: "yield"; readonly n: number }

export type Outcome = "succeed" | "fail" | "die"

export interface Leaf {
  readonly wait: Wait
  readonly outcome: Outcome
}

export const keyArb = fc.integer({ min: 0, max: KEYS - 1 })
export const gateArb = fc.integer({ min: 0, max: GATES - 1 })

export const waitArb: fc.Arbitrary<Wait> = fc.oneof(
  fc.constant({ _tag: "none" as const }),
  fc.record({ _tag: fc.constant("gate" as const), gate: gateArb }),
  fc.record({ _tag: fc.constant("sleep" as const), ms: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ _tag: fc.constant("yield" as const), n: fc.integer({ min: 1, max: 3 }) })
)

export const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("succeed" as const) },
  { weight: 1, arbitrary: fc.constant("fail" as const) },
  { weight: 1, arbitrary: fc.constant("die" as const) }
)

export const leafArb: fc.Arbitrary<Leaf> = fc.record({ wait: waitArb, outcome: outcomeArb })

/** The steps both property tests drive a service with; `B` is each test's body. */
export type CommonStep<B> =
  | { readonly _tag: "submit"; readonly key: number; readonly body: B }
  | { readonly _tag: "yield"; readonly n: number }
  | { readonly _tag: "open"; readonly gate: number }
  | { readonly _tag: "close"; readonly gate: number }
  | { readonly _tag: "adjust"; readonly ms: number }
  /** another fiber submits `body` on `key` as soon as `gate` opens (the same tick a gated run resumes) */
  | { readonly _tag: "watch"; readonly gate: number; readonly key: number; readonly body: Leaf }

/** The weighted arbitraries of the common steps, for `fc.oneof`. */
export const commonStepArbs = <B>(
  bodyArb: fc.Arbitrary<B>
): ReadonlyArray<fc.WeightedArbitrary<CommonStep<B>>> => [
  { weight: 6, arbitrary: fc.record({ _tag: fc.constant("submit" as const), key: keyArb, body: bodyArb }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("yield" as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("open" as const), gate: gateArb }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("close" as const), gate: gateArb }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("adjust" as const), ms: fc.integer({ min: 1, max: 40 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("watch" as const), gate: gateArb, key: keyArb, body: leafArb })
  }
]

export const outcome = (o: Outcome): Effect.Effect<void, string> =>
  o === "succeed" ? Effect.void : o === "fail" ? Effect.fail("boom") : Effect.die("boom")
