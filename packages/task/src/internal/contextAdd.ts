/**
 * Adding one service to a `Context` on the hot path: `Context.add` without
 * its `dual` wrapper (which checks its arguments and calls through
 * `Function.prototype.apply`: 3% of a run of synchronous bodies in a
 * profile). Typed as `Context.add` is, so a value must fit its key; at run
 * time it is `Context.add`'s own body, `addUnsafe` by the key's string.
 *
 * @internal
 */
import * as Context from "effect/Context"

/** `Context.add(self, key, service)`, without the `dual` wrapper. @internal */
export const addService = <Services, I, S>(
  self: Context.Context<Services>,
  key: Context.Key<I, S>,
  service: NoInfer<S>
): Context.Context<Services | I> => Context.addUnsafe<Services, I, S>(self, key.key, service)
