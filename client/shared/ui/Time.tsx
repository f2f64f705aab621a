import { useEffect, useState } from 'react';
import { formatDateTime, formatRelative } from '../format';

let nowListeners = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | null = null;

/** The current time, refreshed every 15 s (one shared timer for every <Time>). */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    nowListeners.add(setNow);
    if (!timer) timer = setInterval(() => nowListeners.forEach((l) => l(Date.now())), 15_000);
    return () => {
      nowListeners.delete(setNow);
      if (nowListeners.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
        nowListeners = new Set();
      }
    };
  }, []);
  return now;
}

/** A timestamp shown relative ("5 min ago") with the exact time on hover. */
export function Time({ value, mode = 'relative' }: { value: string | null | undefined; mode?: 'relative' | 'absolute' }) {
  const now = useNow();
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={formatDateTime(value)}>
      {mode === 'relative' ? formatRelative(value, now) : formatDateTime(value)}
    </time>
  );
}
