/**
 * Graph helpers, pure: strongly connected components of a wait-for graph
 * (cycles) and the transitive dependents of a set of objects (watch mode).
 */

/**
 * The strongly connected components of `graph` (Tarjan) that are cycles:
 * more than one node, or one node with an edge to itself. Each cycle is
 * returned in wait order starting from its smallest id, so that
 * `a → b → c → a` reads "a waits on b waits on c waits on a".
 */
export const findCycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<Array<string>> = []

  // iterative, so that a long chain cannot overflow the stack
  const visit = (start: string): void => {
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const edges = graph.get(frame.node) ?? []
      if (frame.next < edges.length) {
        const target = edges[frame.next++]!
        if (!graph.has(target)) continue
        if (!index.has(target)) {
          index.set(target, counter)
          low.set(target, counter++)
          stack.push(target)
          onStack.add(target)
          work.push({ node: target, next: 0 })
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!))
        }
        continue
      }
      work.pop()
      const parent = work[work.length - 1]
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!))
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: Array<string> = []
        let node: string
        do {
          node = stack.pop()!
          onStack.delete(node)
          component.push(node)
        } while (node !== frame.node)
        components.push(component)
      }
    }
  }

  for (const node of [...graph.keys()].toSorted()) if (!index.has(node)) visit(node)

  return components
    .filter((c) => c.length > 1 || (graph.get(c[0]!) ?? []).includes(c[0]!))
    .map((component) => orderCycle(component, graph))
    .toSorted((a, b) => (a[0]! < b[0]! ? -1 : 1))
}

/** Walks the component along its edges from its smallest member, so the order reads as a wait chain. */
const orderCycle = (component: ReadonlyArray<string>, graph: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const members = new Set(component)
  const start = component.toSorted()[0]!
  const order = [start]
  const seen = new Set(order)
  let current = start
  for (;;) {
    const next = (graph.get(current) ?? []).find((t) => members.has(t) && !seen.has(t))
    if (next === undefined) break
    order.push(next)
    seen.add(next)
    current = next
  }
  // a component that is not one simple loop: list the members not on the walk too
  for (const member of component.toSorted()) if (!seen.has(member)) order.push(member)
  return order
}

/** "a → b → c → a" */
export const showCycle = (cycle: ReadonlyArray<string>): string => [...cycle, cycle[0]!].join(" → ")

/** `roots` and every object that depends on one of them, transitively. */
export const withDependents = (
  roots: Iterable<string>,
  dependsOn: ReadonlyMap<string, ReadonlyArray<string>>
): Set<string> => {
  const dependents = new Map<string, Array<string>>()
  for (const [id, deps] of dependsOn) {
    for (const dep of deps) {
      const list = dependents.get(dep)
      if (list === undefined) dependents.set(dep, [id])
      else list.push(id)
    }
  }
  const result = new Set<string>()
  const todo = [...roots]
  while (todo.length > 0) {
    const id = todo.pop()!
    if (result.has(id)) continue
    result.add(id)
    todo.push(...(dependents.get(id) ?? []))
  }
  return result
}
