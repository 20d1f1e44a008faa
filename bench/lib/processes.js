'use strict';
/**
 * Every process the benchmark starts goes through here, so every one of them is stopped: on a
 * normal end, on an error, and on ctrl-c. Each child leads its own process group, so stopping
 * it also stops what it forked (nginx workers, adapter cluster workers).
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

/** @typedef {{ code: number | null, signal: NodeJS.Signals | null, error?: Error }} Exit */
/**
 * A started process: its name in the work dir, and a promise of its exit that never rejects.
 * @typedef {import('node:child_process').ChildProcess & { benchName: string, exited: Promise<Exit> }} BenchChild
 */

/** @type {Set<BenchChild>} */
const running = new Set();
/** @type {string | undefined} */
let tempDir;

/** One temp dir per run for configs, payloads and logs; removed on exit. */
function workDir() {
  if (!tempDir) tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-authz-bench-'));
  return tempDir;
}

/**
 * @param {BenchChild} child
 * @param {NodeJS.Signals} signal
 */
function killGroup(child, signal) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
  if (tempDir && !process.env.BENCH_KEEP_TMP) fs.rmSync(tempDir, { recursive: true, force: true });
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping ${running.size} process(es)`);
    stopAll().finally(() => process.exit(130));
  });
}

/**
 * Starts `command` in its own process group; stdout and stderr go to `<name>.out` / `<name>.err`
 * in the work dir unless `pipeStdout` asks for a stream.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {{ pipeStdout?: boolean, env?: NodeJS.ProcessEnv }} [options]
 * @returns {BenchChild}
 */
function start(name, command, args, { pipeStdout = false, env } = {}) {
  const dir = workDir();
  const out = pipeStdout ? 'pipe' : fs.openSync(path.join(dir, `${name}.out`), 'a');
  const err = fs.openSync(path.join(dir, `${name}.err`), 'a');
  const child = /** @type {BenchChild} */ (
    spawn(command, args, { detached: true, stdio: ['ignore', out, err], env: { ...process.env, ...env } })
  );
  if (typeof out === 'number') fs.closeSync(out);
  fs.closeSync(err);
  child.benchName = name;
  running.add(child);
  child.exited = new Promise((resolve) => {
    child.once('exit', (/** @type {number | null} */ code, /** @type {NodeJS.Signals | null} */ signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    // A program that could not be started never exits; its waiters must not hang.
    child.once('error', (/** @type {Error} */ err) => {
      running.delete(child);
      resolve({ code: null, signal: null, error: err });
    });
  });
  return child;
}

/**
 * What the process wrote to stderr, for error messages.
 * @param {BenchChild} child
 */
function stderrOf(child) {
  try {
    return fs
      .readFileSync(path.join(workDir(), `${child.benchName}.err`), 'utf8')
      .trim()
      .slice(-2000);
  } catch {
    return '';
  }
}

/**
 * Waits for a line matching `pattern` on a piped stdout, bounded in time.
 * @param {BenchChild} child
 * @param {RegExp} pattern
 * @param {number} timeoutMs
 * @returns {Promise<RegExpExecArray>}
 */
function waitForLine(child, pattern, timeoutMs) {
  if (!child.stdout) return Promise.reject(new Error(`${child.benchName} was started without a piped stdout`));
  const stdout = child.stdout;
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`${child.benchName} printed no ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (/** @type {string} */ chunk) => {
      seen += chunk;
      const m = pattern.exec(seen);
      if (m) done(undefined, m);
    };
    const onExit = () => done(new Error(`${child.benchName} exited before it was ready: ${stderrOf(child)}`));
    /**
     * @param {Error | undefined} err
     * @param {RegExpExecArray} [match]
     */
    function done(err, match) {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      if (err || !match) reject(err);
      else resolve(match);
    }
    stdout.setEncoding('utf8');
    stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited.
 * @param {BenchChild} child
 */
async function stop(child, graceMs = 3000) {
  if (!running.has(child)) return;
  killGroup(child, 'SIGTERM');
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const forced = new Promise((/** @type {(value?: unknown) => void} */ resolve) => {
    timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([child.exited, forced]);
  clearTimeout(timer);
  await child.exited;
  // Group members that outlived their leader (a worker mid-exit) go too.
  killGroup(child, 'SIGKILL');
}

function stopAll() {
  return Promise.all([...running].map((c) => stop(c)));
}

/**
 * A loopback port that was free a moment ago, for programs that need a port in their config.
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The pid and every descendant pid (cluster workers, nginx workers).
 * @param {number} pid
 */
function processTree(pid) {
  /** @type {Map<number, number>} */
  const parents = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses; fields resume after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, ppid] of parents) if (ppid === tree[i]) tree.push(child);
  return tree;
}

/** Clock ticks per second, the unit of utime and stime in /proc/PID/stat (100 on Linux). */
const CLK_TCK = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime of one process (every thread), in clock ticks; undefined once it is gone.
 * @param {number} pid
 */
function cpuTicksOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name: field 3 (state) is index 0, so utime (14) and stime (15) are 11, 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time so far of a process and each of its descendants: pid -> ticks. Take one just before
 * and one just after a run, and pass both to cpuSecondsBetween.
 * @param {number | undefined} pid undefined for a process that never started
 */
function cpuSnapshot(pid) {
  /** @type {Map<number, number>} */
  const ticks = new Map();
  for (const p of pid === undefined ? [] : processTree(pid)) {
    const t = cpuTicksOf(p);
    if (t !== undefined) ticks.set(p, t);
  }
  return ticks;
}

/**
 * CPU seconds the tree used between two snapshots. A process that appeared in between counts
 * from zero; one that ended in between is lost (none of the targets forks or ends during a run).
 * Resolution: one clock tick (10 ms at 100 Hz) per process, so runs should use ≥ 0.3 s of CPU.
 * @param {Map<number, number>} before
 * @param {Map<number, number>} after
 */
function cpuSecondsBetween(before, after) {
  let ticks = 0;
  for (const [pid, t] of after) ticks += Math.max(0, t - (before.get(pid) ?? 0));
  return ticks / CLK_TCK;
}

/**
 * VmRSS and VmHWM (peak) of one process, in MB; NaN once it is gone.
 * @param {number} pid
 */
function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (/** @type {string} */ field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: NaN, hwmMb: NaN };
  }
}

/**
 * Memory of a process and its descendants: each process, the largest, and the sum.
 * @param {number | undefined} pid undefined for a process that never started
 */
function treeMemory(pid) {
  const procs = (pid === undefined ? [] : processTree(pid))
    .map((p) => ({ pid: p, ...memoryOf(p) }))
    .filter((p) => Number.isFinite(p.rssMb));
  return {
    processes: procs.length,
    maxRssMb: Math.max(0, ...procs.map((p) => p.rssMb)),
    maxHwmMb: Math.max(0, ...procs.map((p) => p.hwmMb)),
    totalRssMb: procs.reduce((s, p) => s + p.rssMb, 0),
  };
}

module.exports = {
  workDir,
  start,
  stop,
  stopAll,
  waitForLine,
  stderrOf,
  freePort,
  treeMemory,
  cpuSnapshot,
  cpuSecondsBetween,
};
