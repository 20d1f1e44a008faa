import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * sonic-boom appends each line to a pending chunk of up to this many bytes and measures the whole
 * chunk on every append; with its default of 16 KiB that copying was most of the garbage each
 * decision line made. 2 KiB still writes about ten decision lines per write. (Handing it Buffers
 * instead avoids the copying but cost more CPU per check: docs/performance.md.)
 */
const MAX_WRITE_BYTES = 2048;

export interface LogDestinationOptions {
  /** A file descriptor or a file path. */
  readonly dest: number | string;
  /** Bytes held while the reader is slow; past it, lines are dropped. */
  readonly maxPendingBytes: number;
  /** Called once per line dropped at that bound. */
  readonly onDrop?: () => void;
}

/** The part of sonic-boom (pino's asynchronous destination) a bounded flush on exit needs. */
export interface PendingLog {
  /** Bytes taken but not yet written; the count the pending bound is checked against. */
  pendingBytes(): number;
  /** Starts writing what is pending, if a write is not already under way. */
  flush(): void;
  /** Drops what is pending and closes the destination. */
  destroy(): void;
  /** `listener` runs after each write that took bytes, once `pendingBytes` counts it; the returned function removes it. */
  onWrite(listener: () => void): () => void;
}

/**
 * pino's asynchronous destination (sonic-boom), holding at most `maxPendingBytes` for a slow
 * reader and counting what it drops.
 */
export function logDestination(options: LogDestinationOptions): DestinationStream {
  const destination = pino.destination({ dest: options.dest, sync: false, maxWrite: MAX_WRITE_BYTES, maxLength: options.maxPendingBytes });
  if (options.onDrop) destination.on('drop', options.onDrop);
  return destination;
}

/**
 * What a bounded flush can see and do of the destination `logger` writes to (a child shares its
 * parent's): the one made by `logDestination`, or any sonic-boom given to pino. Undefined for
 * any other stream, which has nothing pending that could be waited for. The one place that reads
 * sonic-boom's private state.
 */
export function pendingLog(logger: Logger): PendingLog | undefined {
  // pino exports this symbol for reading a logger's state.
  const target = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as Partial<SonicBoomState> | undefined;
  if (
    !target ||
    typeof target._len !== 'number' ||
    typeof target.flush !== 'function' ||
    typeof target.destroy !== 'function' ||
    typeof target.on !== 'function' ||
    typeof target.off !== 'function'
  )
    return undefined;
  const boom = target as SonicBoomState;
  return {
    pendingBytes: () => boom._len,
    flush: () => boom.flush(),
    destroy: () => boom.destroy(),
    onWrite: (listener) => {
      // sonic-boom lowers its count right after the event, in the same call.
      const afterCount = (): void => queueMicrotask(listener);
      boom.on('write', afterCount);
      return () => boom.off('write', afterCount);
    },
  };
}

/** sonic-boom as a bounded flush reads it, its private byte count included. */
interface SonicBoomState {
  /** Bytes taken but not yet written; sonic-boom checks its `maxLength` against this. */
  readonly _len: number;
  flush(): void;
  destroy(): void;
  on(event: 'write', listener: () => void): void;
  off(event: 'write', listener: () => void): void;
}
