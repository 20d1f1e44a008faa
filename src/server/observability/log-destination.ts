import pino, { type DestinationStream, type Logger } from 'pino';

/** sonic-boom joins up to this many bytes of lines into one write: about ten decision lines. */
const MAX_WRITE_BYTES = 2048;

export interface LogDestinationOptions {
  /** A file descriptor or a file path. */
  readonly dest: number | string;
  /** Bytes held while the reader is slow; past it, lines are dropped. */
  readonly maxPendingBytes: number;
  /** Called once per line dropped at that bound. */
  readonly onDrop?: () => void;
}

type SonicBoom = ReturnType<typeof pino.destination>;

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
 * pino hands its stream each line as a string; this gives it to sonic-boom as a Buffer. In its
 * text mode sonic-boom appends each line to its pending string chunk and measures the whole chunk
 * again (`Buffer.byteLength`), which flattened and copied up to a chunk per line. With Buffers it
 * keeps a list and a byte count, and joins them once per write.
 */
class BufferLines implements DestinationStream {
  constructor(readonly destination: SonicBoom) {}

  write(line: string): boolean {
    // Looked up per call: pino replaces the destination's methods with no-ops on EPIPE.
    // sonic-boom's types know only its text mode.
    return (this.destination.write as unknown as (data: Buffer) => boolean).call(this.destination, Buffer.from(line));
  }

  /** For `logger.flush()`. */
  flush(cb?: (err?: Error) => void): void {
    this.destination.flush(cb);
  }

  /** For `logger.fatal()`, which flushes synchronously. */
  flushSync(): void {
    this.destination.flushSync();
  }
}

/**
 * An asynchronous destination for pino that takes lines as Buffers, holds at most
 * `maxPendingBytes` for a slow reader and counts what it drops. Lines reach the file or
 * descriptor byte for byte as pino's own text-mode destination writes them.
 */
export function logDestination(options: LogDestinationOptions): DestinationStream {
  const destination = pino.destination({
    dest: options.dest,
    sync: false,
    contentMode: 'buffer',
    maxWrite: MAX_WRITE_BYTES,
    maxLength: options.maxPendingBytes,
  });
  if (options.onDrop) destination.on('drop', options.onDrop);
  return new BufferLines(destination);
}

/**
 * What a bounded flush can see and do of the destination `logger` writes to (a child shares its
 * parent's): the one made by `logDestination`, or a sonic-boom given to pino directly. Undefined
 * for any other stream, which has nothing pending that could be waited for.
 */
export function pendingLog(logger: Logger): PendingLog | undefined {
  // pino exports this symbol for reading a logger's state.
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  const target = (stream instanceof BufferLines ? stream.destination : stream) as Partial<SonicBoomState> | undefined;
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
