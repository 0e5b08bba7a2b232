// Compile-time proof that the protocol's TypeScript faces agree with schema.ts:
// one pin per rule of schema-types.ts, every named type resolved, and the
// hand-written API interfaces (NodeApi, MeshPeerApi, SessionApi) held to the
// messages, both ways, in parameter types, count and response. Types only, and
// imported by nothing: `tsc` checks it, and test/protocol.test.ts type-checks it
// (also after changing the schema or types.ts alone, to see it fail). The
// parameter names, which no type carries, are checked by that test.
import type { ProcessResult } from '../ports.js'
import type { SEMeshPeer, SENodeCapabilities, SENodeControl, SENodeCoordination, SESession, SPlectrumEngine } from './schema.js'
import type { MessageShape, RequestArgs, ResponseOf, StreamOf } from './schema-types.js'
import type {
  ContainerMount, ContainerStep, DistributedAuditEntry, InterventionRequest, MeshHello, MeshNode, MeshPeerApi, NodeApi, ProtocolRegistry, ProtocolValue,
  RemoteError, RemoteErrorDetail, Requirements, SessionApi, StepOutcome, StepRequest, StepStatus, WorkflowEvent, WorkflowEventKind, WorkflowStatus
} from './types.js'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
type Assert<T extends true> = T
/** Names what is wrong: the error reads "Type '"x"' does not satisfy the constraint 'never'". */
type None<T extends never> = T

// One pin per rule of schema-types.ts, on a record that uses it.
export type MappingRules = [
  // arrays, nullable long and double; a default leaves the field required
  Assert<Equals<Requirements, { capabilities: string[], memoryMb: number | null, cpus: number | null }>>,
  // an enum is the union of its symbols, declared inline and exported by its name
  Assert<Equals<WorkflowEventKind, 'WORKFLOW' | 'STEP' | 'OUTPUT' | 'INTERVENTION'>>,
  Assert<Equals<WorkflowEvent, { workflowId: string, kind: WorkflowEventKind, state: string, stepId: string | null, text: string, at: number }>>,
  // bytes
  Assert<Equals<MeshHello, { version: number, nodeId: string, name: string, proof: Uint8Array }>>,
  // a logical type avsc is not told about is its underlying type; a map is a Record
  Assert<Equals<DistributedAuditEntry['timestamp'], number>>,
  Assert<Equals<DistributedAuditEntry['performanceMetrics'], Record<string, number>>>,
  // references by name, plain and nullable
  Assert<Equals<WorkflowStatus['steps'], StepStatus[]>>,
  Assert<Equals<WorkflowStatus['intervention'], InterventionRequest | null>>,
  // records declared inside a field, themselves exported by name
  Assert<Equals<StepRequest['container'], ContainerStep | null>>,
  Assert<Equals<ContainerStep['mounts'], ContainerMount[]>>,
  Assert<Equals<ContainerMount, { source: string, target: string, readOnly: boolean }>>,
  Assert<Equals<RemoteError['details'], RemoteErrorDetail[]>>,
  // the wire says string; MemberState is the node's own narrower view
  Assert<Equals<MeshNode['state'], string>>
]

/** True when a `never` hides anywhere in T: a reference to a name the registry lacks. */
type HasNever<T> = [T] extends [never] ? true
  : T extends Uint8Array ? false
    : T extends ReadonlyArray<infer I> ? HasNever<I>
      : T extends object ? (true extends { [K in keyof T]-?: HasNever<T[K]> }[keyof T] ? true : false)
        : false
export type EveryNamedTypeResolves = None<{ [N in keyof ProtocolRegistry]: HasNever<ProtocolValue<N>> extends true ? N : never }[keyof ProtocolRegistry]>

type MessagesOf<P> = P extends { readonly messages: infer M } ? M : never
type NodeMessages = MessagesOf<typeof SENodeCoordination> & MessagesOf<typeof SENodeCapabilities> & MessagesOf<typeof SPlectrumEngine> &
MessagesOf<typeof SENodeControl> & MessagesOf<typeof SESession>
type PeerMessages = MessagesOf<typeof SEMeshPeer>
type AllMessages = NodeMessages & PeerMessages

/** Splits tuple A after its first N elements. */
type Split<A extends unknown[], N extends number, Head extends unknown[] = []> =
  Head['length'] extends N ? [Head, A] : A extends [infer H, ...infer T] ? Split<T, N, [...Head, H]> : [Head, A]

/** A streaming message's method takes a listener for its events, and may take the caller's cancel registrar. */
type Listener<S> = (event: S) => boolean | void
type TailConforms<Rest, M extends MessageShape> = [StreamOf<M, ProtocolRegistry>] extends [never]
  ? Equals<Rest, []>
  : true extends Equals<Rest, [onEvent: Listener<StreamOf<M, ProtocolRegistry>>]> | Equals<Rest, [onEvent: Listener<StreamOf<M, ProtocolRegistry>>, onCancel?: (listener: () => void) => void]> ? true : false

/** A method has its message's parameters (types and count), in order, and answers its response. */
type Conforms<F, M extends MessageShape> = F extends (...args: infer A) => infer Ret
  ? Split<A, RequestArgs<M, ProtocolRegistry>['length']> extends [infer Head, infer Rest]
    ? [Equals<Head, RequestArgs<M, ProtocolRegistry>>, TailConforms<Rest, M>, Equals<Ret, Promise<ResponseOf<M, ProtocolRegistry>>>] extends [true, true, true] ? true : false
    : false
  : false

/** The methods of Api that are no message, or do not conform to theirs. */
type Misfits<Api> = { [K in keyof Api]: K extends keyof AllMessages ? (AllMessages[K] extends MessageShape ? (Conforms<Api[K], AllMessages[K]> extends true ? never : K) : K) : K }[keyof Api]

export type ApiMatchesMessages = [
  None<Misfits<NodeApi>>,
  None<Misfits<MeshPeerApi>>,
  None<Misfits<SessionApi>>,
  // NodeApi answers exactly the messages of every protocol but SEMeshPeer,
  None<Exclude<keyof NodeMessages, keyof NodeApi>>,
  None<Exclude<keyof NodeApi, keyof NodeMessages>>,
  // and MeshPeerApi every SEMeshPeer message: each message has its method.
  None<Exclude<keyof PeerMessages, keyof MeshPeerApi>>,
  None<Exclude<keyof SessionApi, keyof MessagesOf<typeof SESession>>>,
  None<Exclude<keyof MessagesOf<typeof SESession>, keyof SessionApi>>
]


// A routed step's outcome is the process result the executing node got, less what
// only the requester knows (the lost node, the network time), plus where it ran.
// ports.ts sits below the protocol and cannot derive ProcessResult from StepOutcome;
// this keeps the two in step instead.
export type StepOutcomeIsProcessResult = Assert<Equals<Omit<StepOutcome, 'cwd' | 'outputs' | 'artifacts'>, Required<Omit<ProcessResult, 'lostNode' | 'networkMs'>>>>
