// Workloads: long-running containers (or processes) a node keeps alive from a
// Kubernetes Pod or Deployment manifest. The engine interface is what podman,
// the process engine and the mock engine each implement.
import type { ErrorDetail } from '../errors.js'
import type { ProcessHandle, ProcessSpec } from '../ports.js'
import type { ContainerStats } from '../protocol/types.js'

export interface PortMapping {
  containerPort: number
  hostPort: number | null
  protocol: 'TCP' | 'UDP'
}

export interface VolumeMount { source: string, target: string, readOnly: boolean }

/** One container of a planned pod, as the engine will run it. */
export interface ContainerPlan {
  name: string
  image: string
  /** The entrypoint override (Kubernetes `command`); null keeps the image's. */
  command: string[] | null
  args: string[]
  env: Record<string, string>
  ports: PortMapping[]
  mounts: VolumeMount[]
  workingDir: string | null
  memoryBytes: number | null
  cpus: number | null
}

export interface PodPlan {
  name: string
  /** The Pod document handed to the engine, as rewritten (limits, replicas, env, labels). */
  document: Record<string, unknown>
  restartPolicy: 'Always' | 'OnFailure' | 'Never'
  containers: ContainerPlan[]
}

/** Everything needed to run, observe and remove one deployed manifest. */
export interface WorkloadPlan {
  id: string
  /** metadata.name of the manifest. */
  name: string
  kind: 'Pod' | 'Deployment'
  /** Where the manifest came from (a path on the requesting machine). */
  source: string
  pods: PodPlan[]
  /** Memory counted against the node's budget: the sum of the containers' limits. */
  memoryBytes: number
  /** Directory the engine may keep files in (rendered manifest, process logs). */
  dir: string
}

export type ContainerState = 'created' | 'running' | 'paused' | 'exited' | 'stopped' | 'missing'

export interface ContainerObservation {
  pod: string
  name: string
  state: ContainerState
  exitCode: number | null
  restarts: number
  startedAt: number | null
}

/** One container's use of CPU, memory and network, as the protocol carries it. */
export type ContainerUsage = ContainerStats

export interface LogLine { container: string, stream: 'stdout' | 'stderr', text: string }

export interface LogFollow {
  /** Settles when the engine has sent everything (at once without follow; when stopped with it). */
  readonly done: Promise<void>
  stop (): void
}

export interface EngineAvailability {
  available: boolean
  /** Why not, and how to get it, when it is not available. */
  reason?: string
  install?: string
}

/** A container step of a workflow: `podman run --rm` with the workspace bind-mounted. */
export interface ContainerStepSpec extends ProcessSpec {
  container: NonNullable<ProcessSpec['container']>
}

/** The phases of a deploy a person sees: images pulled, pods created, containers started. */
export type DeployPhase = 'pull' | 'create' | 'start'
export type DeployProgress = (phase: DeployPhase, text: string) => void

export interface WorkloadEngine {
  readonly name: string
  availability (): Promise<EngineAvailability>
  /** Problems this engine has with an otherwise valid plan, each naming its place in the manifest. */
  check (plan: WorkloadPlan): ErrorDetail[]
  /** Runs the plan, telling `progress` what it is doing; on failure removes whatever it created, then throws. */
  deploy (plan: WorkloadPlan, progress?: DeployProgress): Promise<void>
  /** What runs now for each plan, by workload id: one look for all of them. */
  observe (plans: WorkloadPlan[]): Promise<Map<string, ContainerObservation[]>>
  logs (plan: WorkloadPlan, opts: { follow: boolean, tail: number }, onLine: (line: LogLine) => void): LogFollow
  stats (plans: WorkloadPlan[]): Promise<ContainerUsage[]>
  /** Stops and deletes everything of the plan; removing what is already gone is not an error. */
  remove (plan: WorkloadPlan): Promise<void>
  /** Runs one container to completion, for a workflow step; absent on engines without containers. */
  runContainer?: (spec: ContainerStepSpec, onOutput: (stream: 'stdout' | 'stderr', text: string) => void) => ProcessHandle
}
