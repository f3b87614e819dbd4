import type { Thunk } from "./bodies.ts"

/**
 * A hand-rolled promise pool that queues thunks: the practical floor for any
 * JavaScript limiter. A thunk that returns nothing finished synchronously; a
 * thunk that returns a promise holds its slot until the promise settles. The
 * pump loop starts queued thunks in order without recursion.
 */
export class PromisePool {
  private running = 0
  private queue: Array<Thunk | undefined> = []
  private head = 0
  private pumping = false
  private idle: (() => void) | undefined = undefined
  private readonly bound: number

  constructor(bound: number) {
    this.bound = bound
  }

  add(thunk: Thunk): void {
    this.queue.push(thunk)
    this.pump()
  }

  onIdle(): Promise<void> {
    if (this.running === 0 && this.head === this.queue.length) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.idle = resolve
    })
  }

  private readonly done = (): void => {
    this.running--
    this.pump()
  }

  private pump(): void {
    if (this.pumping) return
    this.pumping = true
    const queue = this.queue
    while (this.running < this.bound && this.head < queue.length) {
      const thunk = queue[this.head]!
      queue[this.head++] = undefined
      this.running++
      const result = thunk()
      if (result === undefined) this.running--
      else result.then(this.done, this.done)
    }
    if (this.head === queue.length) {
      queue.length = 0
      this.head = 0
    }
    this.pumping = false
    if (this.running === 0 && this.head === queue.length && this.idle !== undefined) {
      const idle = this.idle
      this.idle = undefined
      idle()
    }
  }
}
