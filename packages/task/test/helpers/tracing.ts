/**
 * A tracer that records every span it makes, for the tests that check which
 * spans a task gets; not a test file.
 */
import { Effect, Tracer } from "effect"

/** A fresh recording tracer: `spans` lists every span `tracer` made, in order. */
export const recordSpans: Effect.Effect<{ readonly spans: Array<Tracer.Span>; readonly tracer: Tracer.Tracer }> = Effect
  .sync(() => {
    const spans: Array<Tracer.Span> = []
    const tracer = Tracer.make({
      span: (options) => {
        const span = Tracer.nativeTracer.span(options)
        spans.push(span)
        return span
      }
    })
    return { spans, tracer }
  })
