// What core needs from the runtime. Implemented by adapters/node and adapters/bare;
// core never reaches for a runtime module itself.

export interface FileSystem {
  /** The file's bytes, or null when it does not exist. */
  read (path: string): Promise<Uint8Array | null>
  /** Write to a temporary file, fsync it, rename it over `path`, fsync the directory. */
  writeAtomic (path: string, data: Uint8Array | string, opts?: { mode?: number }): Promise<void>
  openAppend (path: string): Promise<AppendFile>
  list (dir: string): Promise<string[]>
  isDirectory (path: string): Promise<boolean>
  /** Private to this user (0700) unless `mode` says otherwise (the umask applies). */
  mkdirp (dir: string, mode?: number): Promise<void>
  remove (path: string): Promise<void>
  /** Truncate a file to `size` bytes (drops a torn tail after a crash). */
  truncate (path: string, size: number): Promise<void>
  /**
   * Takes an exclusive lock on `path` (created when missing) that the OS drops when this
   * process ends however it ends, and writes `holder` into the file; null when another
   * process holds it.
   */
  tryLock (path: string, holder: string): Promise<FileLock | null>
  /** Bytes free on the file system holding `path`, or null where that cannot be told. */
  freeBytes (path: string): Promise<number | null>
  /** What is at `path`, a symlink not followed; null when nothing is. */
  lstat (path: string): Promise<FileInfo | null>
  /** `path` with every symlink in it resolved (it must exist). */
  realpath (path: string): Promise<string>
  /** A file read piece by piece at offsets, so a large one never sits whole in memory. */
  openRead (path: string): Promise<ReadableFile>
  /** A new (or emptied) file written piece by piece at offsets. */
  openWrite (path: string): Promise<WritableFile>
  rename (from: string, to: string): Promise<void>
  chmod (path: string, mode: number): Promise<void>
}

export interface FileInfo {
  kind: 'file' | 'directory' | 'symlink' | 'other'
  size: number
  /** Permission bits only (0o755). */
  mode: number
}

export interface ReadableFile {
  /** Up to `length` bytes from `position`; fewer only at the end of the file. */
  read (position: number, length: number): Promise<Uint8Array>
  close (): Promise<void>
}

export interface WritableFile {
  write (position: number, data: Uint8Array): Promise<void>
  /** Make what was written durable. */
  sync (): Promise<void>
  close (): Promise<void>
}

/** Writes fail with SeError NO_SPACE when the file system is full, WRITE_FAILED otherwise. */
export interface AppendFile {
  /** All or nothing: a failed append leaves the file as it was before it. */
  append (data: Uint8Array | string): Promise<void>
  /** Cuts the file back to `length` bytes, durably. */
  truncate (length: number): Promise<void>
  /** The file's length as this handle has written it. */
  size (): number
  /** Make everything appended so far durable. */
  sync (): Promise<void>
  close (): Promise<void>
}

export interface FileLock {
  release (): Promise<void>
}

export interface ProcessSpec {
  command: string
  args: string[]
  cwd?: string
  env?: Record<string, string>
  /** Variables of the node's own environment the process must not inherit (credentials it was not granted). */
  withhold?: string[]
  timeoutMs?: number
  /** Runs in a process group of its own; kill and timeout signal the whole group. */
  processGroup?: boolean
  /** Set for a container step: the command runs inside this image, with `cwd` bind-mounted as the workspace. */
  container?: {
    image: string
    mounts: Array<{ source: string, target: string, readOnly: boolean }>
    /** In podman's units: 512m, 2g. */
    memory: string | null
    cpus: number | null
    /** Working directory inside the container; the workspace mount when null. */
    workdir: string | null
  }
}

export interface ProcessResult {
  exitCode: number | null
  signal: string | null
  stdout: string
  stderr: string
  durationMs: number
  timedOut: boolean
  /** Set when the process could not start at all (command not found, bad cwd). */
  spawnError: string | null
  /** Set when the step ran on another node and that node was lost before it answered. */
  lostNode?: string
  /** For a routed step: the round trip minus the time the step itself took. */
  networkMs?: number
}

export interface ProcessHandle {
  readonly result: Promise<ProcessResult>
  /** The OS process id, where the runtime has one. */
  readonly pid?: number
  kill (signal?: string): void
}

export interface ProcessRunner {
  run (spec: ProcessSpec, onOutput?: (stream: 'stdout' | 'stderr', text: string) => void): ProcessHandle
  /**
   * Ends the processes an earlier run of this node started that outlived it (they carry
   * SE_NODE_ID=nodeId) and says how many; absent where the runtime cannot find them.
   */
  endLeftovers? (nodeId: string): Promise<number>
}

export interface Clock {
  now (): number
}

export interface Crypto {
  sha256 (data: Uint8Array): Uint8Array
  randomBytes (n: number): Uint8Array
  /** A new ed25519 key pair; secretKey in the 64-byte seed+public form Hyperswarm uses. */
  generateKeyPair (): KeyPair
  sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array
  verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean
  /** A 32-byte keyed hash (BLAKE2b), to prove knowledge of a shared key. */
  mac (key: Uint8Array, data: Uint8Array): Uint8Array
}

export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** A byte stream to one peer (a Unix socket client, later a Hyperswarm connection). */
export interface Connection {
  readonly label: string
  write (data: Uint8Array): void
  onData (listener: (data: Uint8Array) => void): void
  onClose (listener: (err?: Error) => void): void
  close (): void
  /** A frame begun but not finished within this is the other end stalling: its connection is closed. */
  readonly frameDeadlineMs?: number
  /** Told once, with a snake_case reason, when this side closes the connection for what came over it. */
  rejected? (reason: string): void
}

/** An encrypted connection to another mesh node, whose key the transport has authenticated. */
export interface PeerLink extends Connection {
  readonly remotePublicKey: Uint8Array
  /** Unique to this connection's Noise session: binds a proof to it so it cannot be replayed. */
  readonly handshakeHash: Uint8Array
  /** A second channel on the same encrypted connection, for artifacts; absent where the transport has none. */
  readonly artifacts?: MessageChannel
}

/** Messages (not a byte stream) beside a link's RPC; what arrives before a listener is kept for it. */
export interface MessageChannel {
  /** False once the connection's send buffer is full: wait for drained() before sending more. */
  send (data: Uint8Array): boolean
  /** Settles when the send buffer has room again (at once if it has, or once the connection is gone). */
  drained (): Promise<void>
  onMessage (listener: (data: Uint8Array) => void): void
}

/** Peer discovery and connections (Hyperswarm on Node and Bare). */
export interface MeshTransport {
  readonly publicKey: Uint8Array
  onConnection (listener: (link: PeerLink) => void): void
  /** Announces on the topic, so others find this node there; dials nobody (whom to dial is the mesh's choice). */
  join (topic: Uint8Array): Promise<void>
  /** Keeps connecting to one node by its key, topic or not, until leavePeer. */
  joinPeer (publicKey: Uint8Array): void
  /** Stops dialling a node (its connection, if any, is closed by whoever holds it). */
  leavePeer (publicKey: Uint8Array): void
  /** Announces a provider record without taking connections for it. */
  announce (topic: Uint8Array): Promise<void>
  unannounce (topic: Uint8Array): Promise<void>
  /** The keys of nodes announcing the topic, found within timeoutMs; `onFound` hears each as soon as it is found. */
  lookup (topic: Uint8Array, timeoutMs: number, onFound?: (publicKey: Uint8Array) => void): Promise<Uint8Array[]>
  destroy (): Promise<void>
}

/** What a node learns about the machine it runs on. */
export interface SystemInfo {
  runtime: string
  platform: string
  arch: string
  cpus: number
  memoryTotalMb: number
  memoryFreeMb: number
  loadAverage: number
  hostname: string
  env (name: string): string | undefined
  /** Whether an executable of that name is on PATH. */
  hasTool (name: string): Promise<boolean>
  /** Whether podman really runs containers here (not merely installed). */
  podmanWorks (): Promise<boolean>
  /** Resident memory and CPU time of a process, or null when it is gone or cannot be read. */
  processUsage (pid: number): Promise<{ rssBytes: number, cpuMs: number } | null>
  /** This process's own figures, for the process_* series of /metrics. */
  processStats (): Promise<ProcessStats>
}

/** What Prometheus's process collector reports; null where the runtime cannot tell. */
export interface ProcessStats {
  cpuSeconds: number
  residentBytes: number
  /** Unix time the process started, in seconds. */
  startTimeSeconds: number
  openFds: number | null
  maxFds: number | null
}

export interface Logger {
  info (message: string): void
  warn (message: string): void
  error (message: string): void
}

export interface Runtime {
  fs: FileSystem
  processes: ProcessRunner
  clock: Clock
  crypto: Crypto
  system: SystemInfo
  log: Logger
}
