/**
 * The slot queue (`internal/slotQueue.ts`): first come, first served across
 * its blocks, records and `Task` entries in one order, early removal, and
 * memory that follows the backlog — checked against a plain array as the
 * model, over random programs that cross block boundaries.
 *
 * Replay a failure: fast-check prints `{ seed: S, path: "P" }`; pass them to
 * `fc.assert` below (`FC_RUNS=N` changes the number of programs, default 300).
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import * as fc from "fast-check"
import { type ParkedRecord, SlotQueue } from "../../src/internal/slotQueue.ts"
import { Task } from "../../src/internal/task.ts"

const blockSize = 2048
const context = Context.empty()
const body = Effect.void

type Entry =
  | { readonly kind: "record"; readonly id: number }
  | { readonly kind: "task"; readonly id: number; readonly task: Task }

type Op =
  | { readonly op: "pushRecords"; readonly n: number }
  | { readonly op: "pushTasks"; readonly n: number }
  | { readonly op: "remove"; readonly pick: number }
  | { readonly op: "repush"; readonly pick: number }
  | { readonly op: "shift"; readonly n: number }
  | { readonly op: "removeAll"; readonly keepEvery: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant("pushRecords" as const), n: fc.integer({ min: 1, max: 3_000 }) }),
    weight: 4
  },
  { arbitrary: fc.record({ op: fc.constant("pushTasks" as const), n: fc.integer({ min: 1, max: 300 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("repush" as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("shift" as const), n: fc.integer({ min: 1, max: 4_000 }) }), weight: 4 },
  {
    arbitrary: fc.record({ op: fc.constant("removeAll" as const), keepEvery: fc.integer({ min: 1, max: 4 }) }),
    weight: 1
  }
)

const materialize = (record: ParkedRecord): Task =>
  new Task(record.id, record.name, record.body, record.context, undefined, record.registeredAt)

const idOf = (entry: Entry): number => entry.id

/** the queue's entries in order, as the model writes them */
const contents = (queue: SlotQueue): Array<Entry> => {
  const out: Array<Entry> = []
  queue.forEach(
    (record) => out.push({ kind: "record", id: record.id }),
    (task) => out.push({ kind: "task", id: task.id, task })
  )
  return out
}

interface BlockView {
  readonly names: Array<unknown>
  readonly bodies: Array<unknown>
  readonly contexts: Array<unknown>
  readonly ids: Array<unknown>
  readonly times: Array<unknown>
  readonly next: BlockView | undefined
}
interface QueueView {
  readonly head: BlockView
  readonly headIndex: number
  readonly tail: BlockView
  readonly tailIndex: number
  readonly spare: BlockView | undefined
}

const holdsNothing = (block: BlockView, from: number, to: number): number | undefined => {
  for (let i = from; i < to; i++) {
    if (block.names[i] !== undefined || block.bodies[i] !== undefined || block.contexts[i] !== undefined) return i
  }
  return undefined
}

/** The invariant no public method shows: every slot outside the live part holds nothing. */
const deadSlotsAreEmpty = (queue: SlotQueue): string | undefined => {
  const view = queue as unknown as QueueView
  if (view.spare !== undefined) {
    const i = holdsNothing(view.spare, 0, blockSize)
    if (i !== undefined) return `the spare block's slot ${i} still holds an entry`
    if (view.spare.next !== undefined) return "the spare block is still linked"
  }
  let blocks = 0
  for (let block: BlockView | undefined = view.head; block !== undefined; block = block.next) {
    const from = block === view.head ? view.headIndex : 0
    const to = block === view.tail ? view.tailIndex : blockSize
    const i = holdsNothing(block, 0, from) ?? holdsNothing(block, to, blockSize)
    if (i !== undefined) return `block ${blocks} slot ${i} (live ${from}..${to}) still holds an entry`
    // a growing block's arrays grow together: one left behind would be written far past its end
    const lengths = [block.names, block.bodies, block.contexts, block.ids, block.times].map((a) => a.length)
    if (lengths.some((n) => n !== lengths[0])) return `block ${blocks}'s arrays have lengths ${lengths.join(", ")}`
    blocks++
    if (block === view.tail) return undefined
  }
  return "the tail block is not reachable from the head"
}

const runProgram = (ops: ReadonlyArray<Op>): void => {
  const queue = new SlotQueue()
  let model: Array<Entry> = []
  let nextId = 0
  /** tasks removed early, which a `repush` pushes again */
  const removed: Array<Task> = []
  const check = (step: string): void => {
    assert.strictEqual(queue.size, model.length, `${step}: size`)
    const got = contents(queue).map(idOf).join()
    const want = model.map(idOf).join()
    if (got !== want) assert.fail(`${step}: order: ${got.slice(0, 200)} … expected ${want.slice(0, 200)} …`)
    const dead = deadSlotsAreEmpty(queue)
    assert.isUndefined(dead, `${step}: ${dead}`)
    // blocks the head has passed are dropped: at most one partly used block at each end beyond the live entries
    assert.isAtMost(queue.capacity, (Math.ceil(model.length / blockSize) + 2) * blockSize, `${step}: capacity`)
    if (model.length === 0) {
      assert.strictEqual(queue.capacity, blockSize, `${step}: an empty queue spans one block`)
      const view = queue as unknown as QueueView
      assert.deepStrictEqual([view.headIndex, view.tailIndex], [0, 0], `${step}: an empty queue starts its block over`)
    }
  }
  ops.forEach((op, index) => {
    const step = `step ${index} (${JSON.stringify(op)})`
    switch (op.op) {
      case "pushRecords":
        for (let i = 0; i < op.n; i++) {
          const id = nextId++
          queue.pushRecord(id, `record ${id}`, body, context, id)
          model.push({ kind: "record", id })
        }
        break
      case "pushTasks":
        for (let i = 0; i < op.n; i++) {
          const id = nextId++
          const task = new Task(id, `task ${id}`, body, context, undefined, id)
          queue.pushTask(task)
          model.push({ kind: "task", id, task })
        }
        break
      case "remove": {
        const tasks = model.filter((entry) => entry.kind === "task")
        if (tasks.length === 0) break
        const entry = tasks[op.pick % tasks.length]!
        queue.remove(entry.task)
        assert.isFalse(entry.task.queued, `${step}: a removed task is not queued`)
        queue.remove(entry.task) // a second removal is a no-op
        model = model.filter((e) => e !== entry)
        removed.push(entry.task)
        break
      }
      case "repush": {
        // pushed again while its old entry may still be in a block: it counts once, at its new place
        if (removed.length === 0) break
        const [task] = removed.splice(op.pick % removed.length, 1)
        queue.pushTask(task!)
        model.push({ kind: "task", id: task!.id, task: task! })
        break
      }
      case "shift": {
        // compared once per step: a chai assertion per entry would cost more than the queue
        let mismatch: string | undefined
        let taken = 0 // model.shift() is linear in V8 on long arrays: slice once instead
        for (let i = 0; i < op.n && mismatch === undefined; i++) {
          const got = queue.shift(materialize)
          const want = model[taken]
          if (want !== undefined) taken++
          if (want === undefined) {
            if (got !== undefined) mismatch = `an empty queue gave task ${got.id}`
            break
          }
          if (got === undefined) mismatch = `gave nothing, expected ${want.id}`
          else if (got.id !== want.id) mismatch = `gave ${got.id}, expected the oldest, ${want.id}`
          else if (want.kind === "task" && got !== want.task) mismatch = `task ${want.id} came back as another object`
          else if (got.queued) mismatch = `task ${got.id} is still marked queued`
          else if (want.kind === "record" && (got.name !== `record ${want.id}` || got.registeredAt !== want.id)) {
            mismatch = `record ${want.id} lost its name or registration time`
          }
        }
        model = model.slice(taken)
        assert.isUndefined(mismatch, `${step}: ${mismatch}`)
        break
      }
      case "removeAll": {
        const keep = (task: Task): boolean => task.id % op.keepEvery === 0
        const out = queue.removeAll(keep)
        const keptTasks = model.filter((e) => e.kind === "task" && keep(e.task))
        assert.deepStrictEqual(out.records.map((r) => r.id), model.filter((e) => e.kind === "record").map(idOf))
        assert.deepStrictEqual(
          out.tasks.map((t) => t.id),
          model.filter((e) => e.kind === "task" && !keep(e.task)).map(idOf)
        )
        for (const task of out.tasks) assert.isFalse(task.queued, `${step}: a removed task is not queued`)
        model = keptTasks
        break
      }
    }
    check(step)
  })
  // drain what is left: the queue ends with one block, and nothing reachable
  while (queue.shift(materialize) !== undefined);
  model = []
  check("drained")
}

const numRuns = process.env.FC_RUNS === undefined ? 300 : Number(process.env.FC_RUNS)
/** a test timeout for `numRuns` programs (a program takes a few ms; a loaded machine is slower) */
const timeout = Math.max(30_000, numRuns * 10)

describe("SlotQueue", () => {
  it.effect("a backlog of 100,000 comes out in order and drains back to one block", () =>
    Effect.sync(() =>
      runProgram([
        { op: "pushRecords", n: 50_000 },
        { op: "pushTasks", n: 10 },
        { op: "pushRecords", n: 50_000 },
        { op: "remove", pick: 3 },
        { op: "shift", n: 100_009 }
      ])
    ))

  it.effect("tasks removed early are skipped, and an emptied queue starts its block over", () =>
    Effect.sync(() =>
      runProgram([
        { op: "pushTasks", n: 3 },
        { op: "remove", pick: 0 },
        { op: "remove", pick: 0 },
        { op: "remove", pick: 0 },
        { op: "pushRecords", n: blockSize },
        { op: "shift", n: 1 },
        { op: "pushTasks", n: 1 },
        { op: "shift", n: blockSize + 1 }
      ])
    ))

  it.effect("tasks removed early across a block boundary leave nothing reachable once the queue is empty", () =>
    Effect.sync(() =>
      runProgram([
        { op: "pushRecords", n: blockSize - 8 },
        { op: "pushTasks", n: 20 },
        { op: "shift", n: blockSize - 8 },
        ...Array.from({ length: 20 }, () => ({ op: "remove", pick: 0 }) as const)
      ])
    ))

  it.effect("a block the head has passed is reused for the next block the tail needs", () =>
    Effect.sync(() => {
      const queue = new SlotQueue()
      const view = queue as unknown as QueueView
      for (let i = 0; i <= blockSize; i++) queue.pushRecord(i, "r", body, context, i)
      const first = view.head
      for (let i = 0; i <= blockSize; i++) queue.shift(materialize)
      assert.strictEqual(view.spare, first, "the passed block is kept as the spare")
      for (let i = 0; i <= blockSize; i++) queue.pushRecord(i, "r", body, context, i)
      assert.strictEqual(view.tail, first, "the next block the tail needs is the spare")
      assert.isUndefined(view.spare)
      assert.strictEqual(queue.capacity, 2 * blockSize)
    }))

  it.effect("a task removed early and pushed again is taken once, at its new place", () =>
    Effect.sync(() => {
      const queue = new SlotQueue()
      const task = new Task(2, "t", body, context, undefined, 0)
      queue.pushRecord(1, "r", body, context, 0)
      queue.pushTask(task)
      queue.remove(task)
      queue.pushRecord(3, "r", body, context, 0)
      queue.pushTask(task)
      assert.deepStrictEqual(contents(queue).map(idOf), [1, 3, 2])
      assert.deepStrictEqual([1, 2, 3, 4].map(() => queue.shift(materialize)?.id), [1, 3, 2, undefined])
      assert.strictEqual(queue.size, 0)
      queue.pushTask(task)
      queue.remove(task)
      queue.pushTask(task)
      queue.pushRecord(4, "r", body, context, 0)
      queue.pushTask(task) // still queued: it moves to the back
      assert.strictEqual(queue.size, 2)
      assert.deepStrictEqual(contents(queue).map(idOf), [4, 2])
      const { tasks } = queue.removeAll(() => false)
      assert.deepStrictEqual(tasks, [task], "removeAll returns it once")
      assert.strictEqual(queue.size, 0)
    }))

  it.effect(
    `${numRuns} random programs keep the order, the size and the memory bound`,
    () => Effect.sync(() => fc.assert(fc.property(fc.array(opArb, { maxLength: 20 }), runProgram), { numRuns })),
    timeout
  )
})
