// The part of fs-native-extensions (Holepunch's file locks, on Node and Bare) SE uses.
declare module 'fs-native-extensions' {
  /** An exclusive (or shared) lock on an open file; false when another holds it. */
  export function tryLock (fd: number, opts?: { shared?: boolean }): boolean
  export function unlock (fd: number): void
  const fsx: { tryLock: typeof tryLock, unlock: typeof unlock }
  export default fsx
}
