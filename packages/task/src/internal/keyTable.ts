/**
 * A coalescer's key table: `Equal` semantics (a `Data` struct or any
 * `Equal` value is one key however it was built), with a plain `Map` for
 * strings and numbers — where `Equal` is value equality — so the common keys
 * skip hashing through `Equal`.
 *
 * Invariants: the two tables never hold the same key (a key's type decides
 * its table); `size` = entries in both.
 *
 * @internal
 */
import * as MutableHashMap from "effect/MutableHashMap"
import * as Option from "effect/Option"

/** Keys whose `Equal` is value equality, kept in the plain `Map`. */
const isPrimitive = (key: unknown): key is string | number => typeof key === "string" || typeof key === "number"

/** @internal */
export class KeyTable<E> {
  private readonly primitive = new Map<unknown, E>()
  private readonly structural = MutableHashMap.empty<unknown, E>()

  get(key: unknown): E | undefined {
    if (isPrimitive(key)) return this.primitive.get(key)
    return Option.getOrUndefined(MutableHashMap.get(this.structural, key))
  }

  set(key: unknown, entry: E): void {
    if (isPrimitive(key)) this.primitive.set(key, entry)
    else MutableHashMap.set(this.structural, key, entry)
  }

  remove(key: unknown): void {
    if (isPrimitive(key)) this.primitive.delete(key)
    else MutableHashMap.remove(this.structural, key)
  }

  get size(): number {
    return this.primitive.size + MutableHashMap.size(this.structural)
  }
}
