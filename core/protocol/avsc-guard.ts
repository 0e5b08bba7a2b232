// avsc 5.7 reads an array's or a map's block count from the wire and loops that
// many times without asking whether the buffer holds that many items: 52 bytes
// announcing a map of 2^40 entries kept a node busy for a minute, then V8 ran out
// of memory. Here ArrayType's and MapType's readers and skippers are replaced by
// ones that refuse a count the remaining bytes cannot hold, stop as soon as an
// item runs past the end or moves backwards, and allow only so many items that
// take no bytes at all (null, an empty record): a decode costs about one step per
// byte. Installed once, on import, into the one lib/types.js that `avsc` and
// `avsc/etc/browser/avsc-types` share, so it covers core's codec (Node and Bare)
// and avsc's IPC server alike.
import avro from 'avsc/etc/browser/avsc-types.js'
import { SeError } from '../errors.js'

/** Items that occupy no bytes (null, an empty record) one decode may produce. */
export const MAX_EMPTY_ITEMS = 65_536

interface Tap { buf: Uint8Array, pos: number, readLong (): number, skipLong (): void, readString (): string, skipString (): void }
interface ItemReader { _read (tap: Tap): unknown, _skip (tap: Tap): void }
interface ArrayLike { itemsType: ItemReader }
interface MapLike { valuesType: ItemReader }
interface Patchable { prototype: Record<string | symbol, unknown> }

const GUARDED = Symbol.for('se-mesh.avsc-guard')
const emptyItems = new WeakMap<Tap, number>()

/** Thrown from inside avsc's decode, which its callers (our codecs, avsc's IPC) report as undecodable input. */
function refuse (why: string): never {
  throw SeError.badAvroData(why)
}

/** The count of the next block (0 at the end); a count the remaining bytes cannot hold is refused before anything is allocated. */
function blockCount (tap: Tap): number {
  let n = tap.readLong()
  if (n < 0) {
    n = -n
    tap.skipLong() // The block's size in bytes, which the reader does not need.
  }
  if (!Number.isSafeInteger(n) || n > tap.buf.length - tap.pos + MAX_EMPTY_ITEMS) refuse(`a block of ${n} items in ${Math.max(0, tap.buf.length - tap.pos)} bytes`)
  return n
}

/** After an item read from `before`: it must end inside the buffer, not before it started, and empty items are counted. */
function afterItem (tap: Tap, before: number): void {
  if (tap.pos > before) {
    if (tap.pos > tap.buf.length) refuse('an item runs past the end of the buffer')
    return
  }
  if (tap.pos < before) refuse('an item has a negative length')
  const empty = (emptyItems.get(tap) ?? 0) + 1
  if (empty > MAX_EMPTY_ITEMS) refuse(`more than ${MAX_EMPTY_ITEMS} items that take no bytes`)
  emptyItems.set(tap, empty)
}

/** A block skipped by its byte size, as writers may send it. */
function skipSizedBlock (tap: Tap): void {
  const size = tap.readLong()
  if (size < 0 || tap.pos + size > tap.buf.length) refuse(`a block of ${size} bytes in ${Math.max(0, tap.buf.length - tap.pos)}`)
  tap.pos += size
}

function readArray (this: ArrayLike, tap: Tap): unknown[] {
  const items = this.itemsType
  const out: unknown[] = []
  for (let n = blockCount(tap); n > 0; n = blockCount(tap)) {
    while (n-- > 0) {
      const before = tap.pos
      out.push(items._read(tap))
      afterItem(tap, before)
    }
  }
  return out
}

function skipArray (this: ArrayLike, tap: Tap): void {
  const items = this.itemsType
  for (let n = tap.readLong(); n !== 0; n = tap.readLong()) {
    if (n < 0) { skipSizedBlock(tap); continue }
    if (!Number.isSafeInteger(n) || n > tap.buf.length - tap.pos + MAX_EMPTY_ITEMS) refuse(`a block of ${n} items`)
    while (n-- > 0) {
      const before = tap.pos
      items._skip(tap)
      afterItem(tap, before)
    }
  }
}

function readMap (this: MapLike, tap: Tap): Record<string, unknown> {
  const values = this.valuesType
  const out: Record<string, unknown> = {}
  for (let n = blockCount(tap); n > 0; n = blockCount(tap)) {
    while (n-- > 0) {
      const before = tap.pos
      const key = tap.readString()
      const value = values._read(tap)
      // A key of "__proto__" is data like any other, not the object's prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      else out[key] = value
      afterItem(tap, before)
    }
  }
  return out
}

function skipMap (this: MapLike, tap: Tap): void {
  const values = this.valuesType
  for (let n = tap.readLong(); n !== 0; n = tap.readLong()) {
    if (n < 0) { skipSizedBlock(tap); continue }
    if (!Number.isSafeInteger(n) || n > tap.buf.length - tap.pos) refuse(`a block of ${n} entries`)
    while (n-- > 0) {
      const before = tap.pos
      tap.skipString()
      values._skip(tap)
      afterItem(tap, before)
    }
  }
}

function install (): void {
  const types = (avro as unknown as { types: Record<string, Patchable> }).types
  const array = types.ArrayType as Patchable
  const map = types.MapType as Patchable
  if (array.prototype[GUARDED] === true) return
  // Resolvers copy `_read` from the type when they are made, so this runs before any exists.
  array.prototype._read = readArray
  array.prototype._skip = skipArray
  map.prototype._read = readMap
  map.prototype._skip = skipMap
  array.prototype[GUARDED] = true
}

install()

/** Whether the guard is in place (it is once this module has been imported). */
export function avscGuarded (): boolean {
  return ((avro as unknown as { types: Record<string, Patchable> }).types.ArrayType as Patchable).prototype[GUARDED] === true
}
