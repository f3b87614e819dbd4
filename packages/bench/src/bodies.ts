import * as Effect from "effect/Effect"
import { enter, enterExit, exit } from "./probe.ts"

/**
 * - `sync`: a synchronous no-op
 * - `hop`: one async hop — a resolved promise for promise libraries, `Effect.yieldNow` for Effect bodies
 * - `promise-hop`: Effect bodies hop through `Effect.promise(() => Promise.resolve())` (promise libraries: as `hop`)
 * - `timer`: a 1 ms timer (`setTimeout` / `Effect.sleep("1 millis")`)
 */
export type BodyKind = "sync" | "hop" | "promise-hop" | "timer"

export type Thunk = () => void | Promise<void>

const syncThunk: Thunk = enterExit
const hopThunk: Thunk = () => {
  enter()
  return Promise.resolve().then(exit)
}
const timerThunk: Thunk = () =>
  new Promise<void>((resolve) => {
    enter()
    setTimeout(() => {
      exit()
      resolve()
    }, 1)
  })

export const promiseBody = (kind: BodyKind): Thunk => {
  switch (kind) {
    case "sync":
      return syncThunk
    case "hop":
    case "promise-hop":
      return hopThunk
    case "timer":
      return timerThunk
  }
}

const syncEffect: Effect.Effect<void> = Effect.sync(enterExit)
const hopEffect: Effect.Effect<void> = Effect.andThen(
  Effect.sync(enter),
  Effect.andThen(Effect.yieldNow, Effect.sync(exit))
)
const promiseHopEffect: Effect.Effect<void> = Effect.andThen(
  Effect.sync(enter),
  Effect.andThen(Effect.promise(() => Promise.resolve()), Effect.sync(exit))
)
const timerEffect: Effect.Effect<void> = Effect.andThen(
  Effect.sync(enter),
  Effect.andThen(Effect.sleep("1 millis"), Effect.sync(exit))
)

export const effectBody = (kind: BodyKind): Effect.Effect<void> => {
  switch (kind) {
    case "sync":
      return syncEffect
    case "hop":
      return hopEffect
    case "promise-hop":
      return promiseHopEffect
    case "timer":
      return timerEffect
  }
}
