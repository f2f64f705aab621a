/** CPU time and memory of processes from /proc (Linux), for the tables' CPU and RSS columns. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* 100 on every Linux we know */
}

/** User + system CPU seconds a process has used so far; null when it is gone (or not Linux). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** Resident set size in MB; `peak` gives VmHWM (the high-water mark since start). */
export function rssMb(pid: number, peak = false): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${peak ? 'VmHWM' : 'VmRSS'}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU use of a set of processes over an interval, as % of one core. */
export class CpuMeter {
  private start = new Map<number, number>();
  private startedAt = 0;

  begin(pids: number[]): void {
    this.startedAt = performance.now();
    this.start.clear();
    for (const pid of pids) {
      const s = cpuSeconds(pid);
      if (s !== null) this.start.set(pid, s);
    }
  }

  /** % of one core used since begin() by the processes alive at both ends. */
  end(): number {
    const seconds = (performance.now() - this.startedAt) / 1000;
    let used = 0;
    for (const [pid, s0] of this.start) {
      const s1 = cpuSeconds(pid);
      if (s1 !== null) used += s1 - s0;
    }
    return seconds > 0 ? (used / seconds) * 100 : 0;
  }
}

/** A CpuMeter per named group of processes, started together: `end()` gives each group's % of one core. */
export function meterGroups<K extends string>(groups: Record<K, number[]>): { end(): Record<K, number> } {
  const meters = Object.entries<number[]>(groups).map(([name, pids]) => {
    const meter = new CpuMeter();
    meter.begin(pids);
    return [name, meter] as const;
  });
  return { end: () => Object.fromEntries(meters.map(([name, meter]) => [name, meter.end()])) as Record<K, number> };
}

/** Whole-machine CPU busy % (all cores, 100% = one core) from /proc/stat, to show outside load. */
export class MachineMeter {
  private s0: number[] = [];
  begin(): void {
    this.s0 = machineTicks();
  }
  end(): { busyCores: number; cores: number } {
    const s1 = machineTicks();
    const d = s1.map((v, i) => v - (this.s0[i] ?? 0));
    const idle = (d[3] ?? 0) + (d[4] ?? 0);
    const total = d.reduce((a, b) => a + b, 0);
    const cores = cpuCount();
    return { busyCores: total > 0 ? ((total - idle) / total) * cores : 0, cores };
  }
}

function machineTicks(): number[] {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    return line.trim().split(/\s+/).slice(1, 9).map(Number);
  } catch {
    return [];
  }
}

function cpuCount(): number {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
  } catch {
    return 1;
  }
}
