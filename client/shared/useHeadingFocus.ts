import { useEffect, useRef } from 'react';

/**
 * Moves focus to the page's heading after an in-app navigation (a changed path; filters in the
 * query string do not count), so keyboard and screen-reader users start on the new page instead
 * of on a link that no longer exists. The first page after loading keeps the browser's focus.
 * Pages render their heading at once (while loading too), so waiting a few frames is enough.
 */
export function useHeadingFocus(pathname: string): void {
  const previous = useRef<string | null>(null);
  useEffect(() => {
    const first = previous.current === null;
    const changed = previous.current !== pathname;
    previous.current = pathname;
    if (first || !changed) return;
    let frames = 0;
    let handle = 0;
    const tryFocus = (): void => {
      const heading = document.querySelector<HTMLElement>('main h1');
      if (heading) {
        heading.focus({ preventScroll: true });
        return;
      }
      if (++frames < 30) handle = requestAnimationFrame(tryFocus);
    };
    handle = requestAnimationFrame(tryFocus);
    return () => cancelAnimationFrame(handle);
  }, [pathname]);
}
