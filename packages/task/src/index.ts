/**
 * effect-task: a bounded, quiescence-aware task service and a per-key
 * coalescer for Effect.
 *
 * @module effect-task
 * @since 0.1.0
 */

export {
  /**
   * @since 0.1.0
   */
  TaskService
} from "./TaskService.ts"

export type {
  /**
   * @since 0.1.0
   */
  Options as TaskServiceOptions,
  /**
   * @since 0.1.0
   */
  Shape as TaskServiceShape,
  /**
   * @since 0.1.0
   */
  TaskInfo
} from "./TaskService.ts"

export {
  /**
   * @since 0.1.0
   */
  Coalescer
} from "./Coalescer.ts"

export type {
  /**
   * @since 0.2.0
   */
  Options as CoalescerOptions
} from "./Coalescer.ts"
