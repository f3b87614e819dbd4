/**
 * effect-task-cluster: the per-key coalescer of effect-task across
 * processes, on `effect/cluster` with PostgreSQL.
 *
 * @module effect-task-cluster
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

export type {
  /**
   * @since 0.1.0
   */
  ClientOptions as ClusterClientOptions,
  /**
   * @since 0.1.0
   */
  RunnerOptions as ClusterRunnerOptions
} from "./ClusterRunner.ts"

export {
  /**
   * @since 0.1.0
   */
  Retention
} from "./Retention.ts"

export type {
  /**
   * @since 0.1.0
   */
  Purged as RetentionPurged,
  /**
   * @since 0.1.0
   */
  PurgeOptions as RetentionOptions
} from "./Retention.ts"
