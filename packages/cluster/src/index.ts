/**
 * effect-task-cluster: the per-key coalescer of effect-task across
 * processes, on `effect/cluster` with PostgreSQL.
 *
 * @since 0.1.0
 */

export {
  /**
   * @since 0.1.0
   */
  ClusterCoalescer
} from "./ClusterCoalescer.ts"

export {
  /**
   * @since 0.1.0
   */
  Fencing
} from "./Fencing.ts"

export {
  /**
   * @since 0.1.0
   */
  ClusterRunner
} from "./ClusterRunner.ts"

export {
  /**
   * @since 0.1.0
   */
  Retention
} from "./Retention.ts"
