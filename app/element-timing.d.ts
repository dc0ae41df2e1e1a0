/**
 * `elementtiming`: the Element Timing API's marker. The browser records when a marked element's content was
 * painted (PerformanceObserver type "element"); the page benchmarks read it (scripts/bench/common.ts,
 * `paintedAtScript`). React passes the attribute through as it is.
 */
import 'react';

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- merges with React's own HTMLAttributes<T>
  interface HTMLAttributes<T> {
    elementtiming?: string;
  }
}
