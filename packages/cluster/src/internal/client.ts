/**
 * The sender side of a coalesced entity: `submit` is a discarded call of the
 * persisted `Submit` RPC (it returns once the message is stored),
 * `submitAndAwait` a plain call (it returns the covering run's exit).
 *
 * **Invariants**
 * - a bad key dies before anything is sent.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { checkKey } from "./arguments.ts"

type ClientFor = (key: string) => {
  readonly Submit: (payload: unknown, options?: { readonly discard?: boolean }) => Effect.Effect<any, any>
}

/** @internal */
export const make = (clientFor: ClientFor) => ({
  submit: (key: string, payload: unknown) => {
    const error = checkKey("ClusterCoalescer.submit", key)
    if (error !== undefined) return Effect.die(error)
    return Effect.asVoid(clientFor(key).Submit(payload, { discard: true }))
  },
  submitAndAwait: (key: string, payload: unknown) => {
    const error = checkKey("ClusterCoalescer.submitAndAwait", key)
    if (error !== undefined) return Effect.die(error)
    return clientFor(key).Submit(payload)
  }
})
