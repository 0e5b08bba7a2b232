// The node protocol as Avro protocol declarations (.avpr form). One definition
// serves every transport: the Unix socket, Hyperswarm, HTTP and Avro IPC. Every
// record is declared here once, as `as const` data: types.ts derives the
// TypeScript shapes from it (schema-types.ts says how), codec.ts the avsc types.
// A message with `stream` sends events of that type before its response.
import type { MessageShape } from './schema-types.js'

const nullable = <const T>(type: T): readonly ['null', T] => ['null', type]

export const NAMESPACE = 'se.mesh'

export const TYPES = [
  {
    type: 'record', name: 'Requirements', fields: [
      { name: 'capabilities', type: { type: 'array', items: 'string' }, default: [] },
      { name: 'memoryMb', type: nullable('long'), default: null },
      { name: 'cpus', type: nullable('double'), default: null }
    ]
  },
  {
    type: 'record', name: 'NodeCapabilities', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'runtime', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'platform', type: 'string' },
      { name: 'arch', type: 'string' },
      { name: 'engines', type: { type: 'array', items: 'string' } },
      { name: 'tools', type: { type: 'array', items: 'string' } },
      { name: 'credentials', type: { type: 'array', items: 'string' } },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'cpus', type: 'int' },
      { name: 'memoryTotalMb', type: 'long' },
      { name: 'memoryFreeMb', type: 'long' },
      { name: 'loadAverage', type: 'double', default: 0 }
    ]
  },
  {
    type: 'record', name: 'NodeMatch', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'capable', type: 'boolean' },
      { name: 'unmet', type: { type: 'array', items: 'string' } },
      { name: 'loadAverage', type: 'double' },
      { name: 'latencyMs', type: nullable('double'), default: null }
    ]
  },
  {
    type: 'record', name: 'WorkflowRequest', fields: [
      { name: 'definition', type: nullable('string'), default: null, doc: 'workflow file text (YAML or JSON); null to look `source` up in the catalogue' },
      { name: 'source', type: 'string', doc: 'file path of the definition, or a catalogue name' },
      { name: 'inputs', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'workdir', type: 'string', doc: "the caller's working directory" },
      { name: 'requestedBy', type: 'string', default: '' }
    ]
  },
  {
    type: 'record', name: 'ArtifactRecord', doc: 'files a step published, content-addressed', fields: [
      { name: 'name', type: 'string' },
      { name: 'workflowId', type: 'string' },
      { name: 'step', type: 'string', doc: 'the step (instance) id that made it' },
      { name: 'path', type: 'string', doc: 'its path relative to the working directory, as it is placed' },
      { name: 'hash', type: 'string', doc: 'SHA-256 of its manifest (every file path, mode, size and chunk hashes), hex' },
      { name: 'size', type: 'long', doc: 'bytes in all its files' },
      { name: 'files', type: 'int' },
      { name: 'directory', type: 'boolean', doc: 'a directory (else one file)' },
      { name: 'nodes', type: { type: 'array', items: 'string' }, doc: 'the nodes that hold a copy, the maker first' }
    ]
  },
  {
    type: 'record', name: 'StepStatus', fields: [
      { name: 'id', type: 'string' },
      { name: 'kind', type: 'string' },
      { name: 'state', type: 'string' },
      { name: 'attempts', type: 'int' },
      { name: 'exitCode', type: nullable('int'), default: null },
      { name: 'node', type: nullable('string'), default: null },
      { name: 'startedAt', type: nullable('long'), default: null },
      { name: 'endedAt', type: nullable('long'), default: null },
      { name: 'durationMs', type: nullable('long'), default: null },
      { name: 'stdout', type: 'string', default: '' },
      { name: 'stderr', type: 'string', default: '' },
      { name: 'error', type: nullable('string'), default: null },
      { name: 'choice', type: nullable('string'), default: null },
      { name: 'comment', type: nullable('string'), default: null },
      { name: 'step', type: 'string', default: '', doc: 'the step of the file this is an instance of (a matrix step has one entry per combination); empty means the id' },
      { name: 'needs', type: { type: 'array', items: 'string' }, default: [], doc: 'the entries (ids) this one waited for' },
      { name: 'instance', type: { type: 'map', values: 'string' }, default: {}, doc: 'its matrix values' },
      { name: 'outputs', type: { type: 'map', values: 'string' }, default: {}, doc: 'KEY=VALUE lines the step wrote to $SE_OUTPUT' },
      { name: 'artifacts', type: { type: 'array', items: 'ArtifactRecord' }, default: [], doc: 'what it published' },
      { name: 'uses', type: { type: 'array', items: 'string' }, default: [], doc: 'the artifacts (hashes) it was given' },
      { name: 'retryAt', type: nullable('long'), default: null, doc: 'set while a retry waits out its backoff' }
    ]
  },
  {
    type: 'record', name: 'Approval', doc: 'one person\'s signed agreement toward an intervention\'s quorum', fields: [
      { name: 'person', type: 'string', doc: 'the public key, hex' },
      { name: 'name', type: 'string' },
      { name: 'choice', type: 'string' },
      { name: 'at', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'InterventionRequest', fields: [
      { name: 'stepId', type: 'string' },
      { name: 'prompt', type: 'string' },
      { name: 'choices', type: { type: 'array', items: 'string' } },
      { name: 'reason', type: 'string' },
      { name: 'requestedAt', type: 'long' },
      { name: 'approvers', type: { type: 'array', items: 'string' }, default: [], doc: 'who must decide: roles of the holding node\'s policy or person:KEY; empty: whoever may approve there' },
      { name: 'quorum', type: 'int', default: 1, doc: 'how many distinct people must agree' },
      { name: 'approvals', type: { type: 'array', items: 'Approval' }, default: [], doc: 'signed approvals counted so far' }
    ]
  },
  {
    type: 'record', name: 'WorkflowStatus', fields: [
      { name: 'id', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'state', type: 'string' },
      { name: 'source', type: 'string' },
      { name: 'node', type: 'string' },
      { name: 'requestedBy', type: 'string' },
      { name: 'createdAt', type: 'long' },
      { name: 'startedAt', type: nullable('long'), default: null },
      { name: 'endedAt', type: nullable('long'), default: null },
      { name: 'currentStep', type: nullable('string'), default: null },
      { name: 'error', type: nullable('string'), default: null },
      { name: 'inputs', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'steps', type: { type: 'array', items: 'StepStatus' } },
      { name: 'intervention', type: nullable('InterventionRequest'), default: null, doc: 'the first of `interventions`, for clients that know of one' },
      { name: 'interventions', type: { type: 'array', items: 'InterventionRequest' }, default: [], doc: 'every branch waiting for a person' }
    ]
  },
  {
    type: 'record', name: 'Decision', doc: 'what a person decided, as they signed it', fields: [
      { name: 'workflowId', type: 'string' },
      { name: 'stepId', type: 'string' },
      { name: 'choice', type: 'string' },
      { name: 'comment', type: nullable('string'), default: null },
      { name: 'person', type: 'string', doc: 'the public key, hex' },
      { name: 'name', type: 'string' },
      { name: 'decidedAt', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'SignedDecision', fields: [
      { name: 'decision', type: 'Decision' },
      { name: 'signature', type: 'string', doc: 'ed25519 over core/access/decision.ts decisionBytes, hex' }
    ]
  },
  {
    type: 'record', name: 'InterventionResult', fields: [
      { name: 'choice', type: 'string' },
      { name: 'comment', type: nullable('string'), default: null },
      { name: 'decidedBy', type: 'string', default: '' },
      { name: 'stepId', type: 'string', default: '', doc: 'the step whose question this answers, when branches of a workflow wait at once; empty: the first' },
      { name: 'signed', type: nullable('SignedDecision'), default: null, doc: 'the decision signed by the person who made it (se key new); the holder checks it and its policy before it acts' }
    ]
  },
  {
    type: 'record', name: 'WorkflowEvent', fields: [
      { name: 'workflowId', type: 'string' },
      { name: 'kind', type: { type: 'enum', name: 'WorkflowEventKind', symbols: ['WORKFLOW', 'STEP', 'OUTPUT', 'INTERVENTION'] } },
      { name: 'state', type: 'string', default: '' },
      { name: 'stepId', type: nullable('string'), default: null },
      { name: 'text', type: 'string', default: '' },
      { name: 'at', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'CatalogueEntry', fields: [
      { name: 'name', type: 'string' },
      { name: 'description', type: 'string' },
      { name: 'source', type: 'string' },
      { name: 'inputs', type: { type: 'array', items: 'string' } },
      {
        name: 'inputDetails',
        type: {
          type: 'array',
          items: {
            type: 'record', name: 'CatalogueInput', fields: [
              { name: 'name', type: 'string' },
              { name: 'description', type: 'string', default: '' },
              { name: 'required', type: 'boolean', default: false },
              { name: 'default', type: nullable('string'), default: null },
              { name: 'type', type: 'string', default: 'string' }
            ]
          }
        },
        default: [],
        doc: 'each input as the workflow declares it, in the order of `inputs`, so a client can ask for them; empty from older nodes'
      }
    ]
  },
  {
    type: 'record', name: 'Command', fields: [
      { name: 'command', type: 'string' },
      { name: 'args', type: { type: 'array', items: 'string' }, default: [] },
      { name: 'workdir', type: nullable('string'), default: null },
      { name: 'sessionId', type: nullable('string'), default: null },
      { name: 'env', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'timeoutMs', type: nullable('long'), default: null }
    ]
  },
  {
    type: 'record', name: 'ExecutionResult', fields: [
      { name: 'exitCode', type: 'int' },
      { name: 'stdout', type: 'string' },
      { name: 'stderr', type: 'string' },
      { name: 'duration', type: 'long', doc: 'milliseconds' },
      { name: 'sessionId', type: nullable('string'), default: null }
    ]
  },
  {
    type: 'record', name: 'BatchJob', fields: [
      { name: 'commands', type: { type: 'array', items: 'Command' } },
      { name: 'stopOnError', type: 'boolean', default: true },
      { name: 'sessionId', type: nullable('string'), default: null }
    ]
  },
  {
    type: 'record', name: 'BatchResult', fields: [
      { name: 'results', type: { type: 'array', items: 'ExecutionResult' } },
      { name: 'completed', type: 'boolean' }
    ]
  },
  {
    type: 'record', name: 'DistributedAuditEntry', fields: [
      { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'sourceNodeId', type: 'string' },
      { name: 'workflowId', type: 'string' },
      { name: 'workflowStep', type: 'string' },
      { name: 'executionContext', type: 'string' },
      { name: 'domains', type: { type: 'array', items: 'string' } },
      { name: 'files', type: { type: 'array', items: 'string' } },
      { name: 'interventionRequired', type: 'boolean' },
      { name: 'performanceMetrics', type: { type: 'map', values: 'double' } },
      { name: 'event', type: 'string' },
      { name: 'message', type: 'string' },
      { name: 'decision', type: nullable('SignedDecision'), default: null, doc: 'a person\'s signed decision this entry records; entries without one hash as before it existed' }
    ]
  },
  {
    type: 'record', name: 'AuditRecord', fields: [
      { name: 'seq', type: 'long' },
      { name: 'entry', type: 'DistributedAuditEntry' },
      { name: 'prevHash', type: 'string' },
      { name: 'hash', type: 'string' },
      { name: 'signature', type: 'string', doc: "the recording node's ed25519 signature of hash" },
      { name: 'originSignature', type: nullable('string'), default: null, doc: "the source node's signature of the entry, when another node sent it" }
    ]
  },
  {
    type: 'record', name: 'SignedAuditEntry', fields: [
      { name: 'entry', type: 'DistributedAuditEntry' },
      { name: 'signature', type: 'string' }
    ]
  },
  {
    type: 'record', name: 'AuditQuery', fields: [
      { name: 'workflowId', type: nullable('string'), default: null },
      { name: 'fromSeq', type: 'long', default: 0 },
      { name: 'limit', type: 'int', default: 1000 }
    ]
  },
  {
    type: 'record', name: 'AuditProblem', fields: [
      { name: 'seq', type: 'long' },
      { name: 'line', type: 'int' },
      { name: 'kind', type: 'string' },
      { name: 'message', type: 'string' }
    ]
  },
  {
    type: 'record', name: 'AuditVerification', fields: [
      { name: 'ok', type: 'boolean' },
      { name: 'entries', type: 'long' },
      { name: 'problems', type: { type: 'array', items: 'AuditProblem' } }
    ]
  },
  {
    type: 'record', name: 'WorkflowAuditSummary', fields: [
      { name: 'workflowId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'state', type: 'string' },
      { name: 'startedAt', type: nullable('long'), default: null },
      { name: 'endedAt', type: nullable('long'), default: null },
      { name: 'durationMs', type: nullable('long'), default: null },
      { name: 'steps', type: 'int' },
      { name: 'stepFailures', type: 'int' },
      { name: 'interventions', type: 'int' },
      { name: 'nodes', type: { type: 'array', items: 'string' } },
      { name: 'stepDurationsMs', type: { type: 'map', values: 'double' } },
      { name: 'routingMs', type: nullable('double'), default: null },
      { name: 'networkLatencyMs', type: nullable('double'), default: null }
    ]
  },
  {
    type: 'record', name: 'NodeInfo', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'dataDir', type: 'string' },
      { name: 'pid', type: 'int' },
      { name: 'startedAt', type: 'long' },
      { name: 'workflowsRunning', type: 'int' },
      { name: 'workflowsWaiting', type: 'int' },
      { name: 'mesh', type: nullable('string'), default: null, doc: 'the mesh the node is in; null when it runs alone' }
    ]
  },
  {
    type: 'record', name: 'NodeSample', doc: 'a heartbeat: what a node is doing right now', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'loadAverage', type: 'double' },
      { name: 'cpus', type: 'int' },
      { name: 'memoryUsedMb', type: 'long' },
      { name: 'memoryTotalMb', type: 'long' },
      { name: 'workflowsRunning', type: 'int' },
      { name: 'workloadsRunning', type: 'int' },
      { name: 'sentAt', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'MeshNode', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'self', type: 'boolean' },
      { name: 'state', type: 'string', doc: 'up | suspect | down' },
      { name: 'lastSeen', type: nullable('long'), default: null },
      { name: 'capabilities', type: 'NodeCapabilities' },
      { name: 'sample', type: nullable('NodeSample'), default: null },
      { name: 'latencyMs', type: nullable('double'), default: null },
      { name: 'allows', type: nullable({ type: 'array', items: 'string' }), default: null, doc: 'what this node may do on that member by the member\'s policy (allowedActions); null: not known, or this node itself' },
      { name: 'learned', type: nullable('string'), default: null, doc: 'how this node knows the member: direct (heard from it over a link) | gossip (only from others); null for this node itself' },
      { name: 'link', type: nullable('string'), default: null, doc: 'the connection this node holds to the member: neighbour | work (opened for a step, session or artifact, closed when idle); null: none' }
    ]
  },
  {
    type: 'record', name: 'StepRequest', doc: 'one step of a workflow that another node routed here, already expanded', fields: [
      { name: 'workflowId', type: 'string' },
      { name: 'workflowName', type: 'string' },
      { name: 'stepId', type: 'string' },
      { name: 'attempt', type: 'int' },
      { name: 'command', type: 'string' },
      { name: 'args', type: { type: 'array', items: 'string' } },
      { name: 'cwd', type: nullable('string'), default: null },
      { name: 'env', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'requires', type: { type: 'array', items: 'string' }, default: [], doc: 'the capabilities the step needs (tag, engine, tool or credential:NAME): a node with a policy grants its credentials only to steps that declare them and that its policy lets the caller run' },
      { name: 'timeoutMs', type: nullable('long'), default: null },
      { name: 'container', default: null, doc: 'set for a container step: run the command in this image', type: nullable({ type: 'record', name: 'ContainerStep', fields: [
        { name: 'image', type: 'string' },
        { name: 'mounts', type: { type: 'array', items: { type: 'record', name: 'ContainerMount', fields: [
          { name: 'source', type: 'string' },
          { name: 'target', type: 'string' },
          { name: 'readOnly', type: 'boolean', default: false }
        ] } }, default: [] },
        { name: 'memory', type: nullable('string'), default: null },
        { name: 'cpus', type: nullable('double'), default: null },
        { name: 'workdir', type: nullable('string'), default: null }
      ] }) },
      { name: 'uses', default: [], doc: 'artifacts to place in the working directory before the step starts', type: { type: 'array', items: { type: 'record', name: 'ArtifactUse', fields: [
        { name: 'artifact', type: 'ArtifactRecord' },
        { name: 'grant', type: 'string', doc: "the requester's signature (hex) letting this node fetch the artifact from the nodes that hold it" }
      ] } } },
      { name: 'publish', default: [], doc: 'artifacts to publish from the working directory after the step succeeds', type: { type: 'array', items: { type: 'record', name: 'ArtifactPublish', fields: [
        { name: 'name', type: 'string' },
        { name: 'path', type: 'string' }
      ] } } },
      { name: 'outputs', type: 'boolean', default: false, doc: 'give the step a $SE_OUTPUT file and send back the KEY=VALUE lines it writes there' }
    ]
  },
  {
    type: 'record', name: 'StepOutcome', fields: [
      { name: 'exitCode', type: nullable('int'), default: null },
      { name: 'signal', type: nullable('string'), default: null },
      { name: 'stdout', type: 'string' },
      { name: 'stderr', type: 'string' },
      { name: 'durationMs', type: 'long' },
      { name: 'timedOut', type: 'boolean' },
      { name: 'spawnError', type: nullable('string'), default: null },
      { name: 'cwd', type: 'string', doc: 'where it ran on the executing node' },
      { name: 'outputs', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'artifacts', type: { type: 'array', items: 'ArtifactRecord' }, default: [], doc: 'what the step published, held on the executing node' }
    ]
  },
  {
    type: 'record', name: 'ProviderRecord', fields: [
      { name: 'id', type: 'string', doc: 'the workflow or manifest name looked up' },
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: nullable('string'), default: null, doc: 'the node name, when the node is a known member' },
      { name: 'state', type: 'string', doc: 'up | suspect | down | unknown' }
    ]
  },
  {
    type: 'record', name: 'DeployRequest', fields: [
      { name: 'manifest', type: 'string', doc: 'the Pod or Deployment manifest text' },
      { name: 'source', type: 'string', doc: 'its path on the requesting machine' },
      { name: 'replicas', type: nullable('int'), default: null },
      { name: 'memory', type: nullable('string'), default: null, doc: 'limit per container, podman units: 512m, 1g' },
      { name: 'cpus', type: nullable('double'), default: null },
      { name: 'env', type: { type: 'map', values: 'string' }, default: {} },
      { name: 'engine', type: nullable('string'), default: null }
    ]
  },
  {
    type: 'record', name: 'WorkloadStatus', fields: [
      { name: 'id', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'kind', type: 'string' },
      { name: 'source', type: 'string' },
      { name: 'engine', type: 'string' },
      { name: 'node', type: 'string' },
      { name: 'nodeName', type: 'string' },
      { name: 'state', type: 'string', doc: 'queued | deploying | starting | running | exited | failed | removing | removed' },
      { name: 'reason', type: nullable('string'), default: null },
      { name: 'replicas', type: 'int' },
      { name: 'pods', type: { type: 'array', items: 'string' } },
      { name: 'ports', type: { type: 'array', items: 'string' } },
      { name: 'restarts', type: 'int' },
      { name: 'createdAt', type: 'long' },
      { name: 'startedAt', type: nullable('long'), default: null },
      { name: 'memoryLimitBytes', type: nullable('long'), default: null },
      { name: 'cpus', type: nullable('double'), default: null },
      { name: 'containers', type: { type: 'array', items: { type: 'record', name: 'WorkloadContainer', fields: [
        { name: 'pod', type: 'string' },
        { name: 'name', type: 'string' },
        { name: 'image', type: 'string' },
        { name: 'state', type: 'string' },
        { name: 'exitCode', type: nullable('int'), default: null },
        { name: 'restarts', type: 'int' }
      ] } } }
    ]
  },
  {
    type: 'record', name: 'WorkloadEvent', fields: [
      { name: 'workloadId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'event', type: 'string', doc: 'queued | deployed | started | exited | failed | removed | restarted; while deploying also accepted | pull | create | start | health (the first health look)' },
      { name: 'state', type: 'string' },
      { name: 'text', type: 'string' },
      { name: 'at', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'WorkloadLogLine', fields: [
      { name: 'workloadId', type: 'string' },
      { name: 'container', type: 'string', doc: 'pod/container' },
      { name: 'stream', type: 'string' },
      { name: 'text', type: 'string' }
    ]
  },
  {
    type: 'record', name: 'ContainerStats', fields: [
      { name: 'workloadId', type: 'string' },
      { name: 'pod', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'cpuPercent', type: 'double' },
      { name: 'memoryBytes', type: 'long' },
      { name: 'memoryLimitBytes', type: nullable('long'), default: null },
      { name: 'netInBytes', type: 'long' },
      { name: 'netOutBytes', type: 'long' },
      { name: 'pids', type: 'int' }
    ]
  },
  {
    type: 'record', name: 'GossipUpdate', doc: 'one piece of membership news (SWIM): a higher incarnation wins; at the same one suspect beats alive, dead and left beat both', fields: [
      { name: 'nodeId', type: 'string' },
      { name: 'incarnation', type: 'long' },
      { name: 'state', type: 'string', doc: 'alive | suspect | dead | left' },
      { name: 'from', type: 'string', doc: 'who says so: the member itself for alive and left, its suspector for suspect and dead' },
      { name: 'meta', type: nullable('bytes'), default: null, doc: 'the member\'s GossipMeta, with alive news' }
    ]
  },
  {
    type: 'record', name: 'GossipMeta', doc: 'what a member tells the mesh about itself by gossip, re-sent when it changes', fields: [
      { name: 'capabilities', type: 'NodeCapabilities' },
      { name: 'sample', type: nullable('NodeSample'), default: null },
      { name: 'waiting', type: 'int', default: 0, doc: 'workflows held here waiting for a person: a member lists and answers interventions only where there are some' },
      { name: 'sessions', type: 'int', default: 0, doc: 'open sessions held here: a member lists sessions only where there are some' }
    ]
  },
  {
    type: 'record', name: 'GossipAck', doc: 'the answer to a probe: alive, with news', fields: [
      { name: 'updates', type: { type: 'array', items: 'GossipUpdate' } }
    ]
  },
  {
    type: 'record', name: 'IndirectAck', doc: 'what a member asked to probe another for us found', fields: [
      { name: 'reached', type: 'boolean' },
      { name: 'updates', type: { type: 'array', items: 'GossipUpdate' } }
    ]
  },
  {
    type: 'record', name: 'MeshHello', doc: 'the first frame each side sends on a peer connection', fields: [
      { name: 'version', type: 'int' },
      { name: 'nodeId', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'proof', type: 'bytes', doc: "keyed hash of the Noise handshake hash and the sender's key, under the mesh key" }
    ]
  },
  {
    type: 'record', name: 'SessionInfo', doc: 'an interactive se> session living on a node', fields: [
      { name: 'id', type: 'string' },
      { name: 'name', type: nullable('string'), default: null },
      { name: 'owner', type: 'string' },
      { name: 'nodeId', type: 'string' },
      { name: 'nodeName', type: 'string' },
      { name: 'state', type: 'string', doc: 'open | closed' },
      { name: 'cwd', type: 'string' },
      { name: 'createdAt', type: 'long' },
      { name: 'lastActiveAt', type: 'long' },
      { name: 'attached', type: 'int', doc: 'clients attached right now' },
      { name: 'busy', type: 'boolean', doc: 'a line is running' },
      { name: 'closedReason', type: nullable('string'), default: null }
    ]
  },
  {
    type: 'record', name: 'SessionOutput', fields: [
      { name: 'sessionId', type: 'string' },
      { name: 'seq', type: 'long' },
      { name: 'stream', type: 'string', doc: 'input | stdout | stderr | info | closed' },
      { name: 'text', type: 'string' },
      { name: 'at', type: 'long' }
    ]
  },
  {
    type: 'record', name: 'RemoteError', fields: [
      { name: 'code', type: 'string' },
      { name: 'message', type: 'string' },
      { name: 'hint', type: nullable('string'), default: null },
      { name: 'details', type: { type: 'array', items: { type: 'record', name: 'RemoteErrorDetail', fields: [
        { name: 'file', type: nullable('string'), default: null },
        { name: 'path', type: nullable('string'), default: null },
        { name: 'line', type: nullable('int'), default: null },
        { name: 'message', type: 'string' }
      ] } }, default: [] }
    ]
  }
] as const

const p = <const N extends string, const T>(name: N, type: T): { readonly name: N, readonly type: T } => ({ name, type })

export interface MessageDeclaration extends MessageShape {
  readonly doc?: string
}

export interface ProtocolDeclaration<M extends Record<string, MessageDeclaration> = Record<string, MessageDeclaration>> {
  readonly protocol: string
  readonly namespace: string
  readonly doc: string
  readonly types: typeof TYPES
  readonly messages: M
}

const protocol = <const M extends Record<string, MessageDeclaration>>(name: string, doc: string, messages: M): ProtocolDeclaration<M> =>
  ({ protocol: name, namespace: NAMESPACE, doc, types: TYPES, messages })

export const SENodeCoordination = protocol('SENodeCoordination', 'Running workflows on a node and steering them.', {
  executeWorkflow: { request: [p('request', 'WorkflowRequest')], response: 'WorkflowStatus' },
  getWorkflowStatus: { request: [p('workflowId', 'string')], response: 'WorkflowStatus' },
  resumeWorkflow: { request: [p('workflowId', 'string'), p('result', 'InterventionResult')], response: 'WorkflowStatus' },
  getCapabilities: { request: [], response: 'NodeCapabilities' }
})

export const SENodeCapabilities = protocol('SENodeCapabilities', 'What nodes can do, and the audit trail they share.', {
  findNodesForWorkflow: { request: [p('requirements', 'Requirements')], response: { type: 'array', items: 'NodeMatch' } },
  submitAuditEntry: { request: [p('entry', 'SignedAuditEntry')], response: 'boolean' },
  getDistributedAuditSummary: { request: [p('workflowId', nullable('string'))], response: { type: 'array', items: 'WorkflowAuditSummary' } }
})

export const SPlectrumEngine = protocol('SPlectrumEngine', 'Running single commands and batches of them.', {
  execute: { request: [p('command', 'Command')], response: 'ExecutionResult' },
  executeBatch: { request: [p('job', 'BatchJob')], response: 'BatchResult' }
})

/** Between mesh members only, after each has proved it holds the mesh secret. */
export const SEMeshPeer = protocol('SEMeshPeer', 'Membership gossip and routed steps between the nodes of a mesh.', {
  heartbeat: { request: [p('sample', 'NodeSample')], response: 'NodeSample' },
  registerCapabilities: { request: [p('capabilities', 'NodeCapabilities')], response: 'boolean', doc: 'what the calling member can do, sent once it is connected; the first one is its join' },
  runStep: { request: [p('request', 'StepRequest')], response: 'StepOutcome', stream: 'WorkflowEvent', doc: 'runs one routed step, streaming its output' },
  cancelStep: { request: [p('workflowId', 'string'), p('stepId', 'string')], response: 'boolean' },
  attachStep: { request: [p('workflowId', 'string'), p('stepId', 'string'), p('attempt', 'int')], response: 'StepOutcome', stream: 'WorkflowEvent', doc: 'joins again a step the caller routed here whose connection dropped: its output from then on, and its outcome (kept a while after it ended); STEP_NOT_HERE when this node runs no such attempt for the caller' },
  findCommands: { request: [p('commands', { type: 'array', items: 'string' })], response: { type: 'array', items: 'string' }, doc: 'which of these commands are on this node\'s PATH, asked before a workflow whose steps may run here starts' },
  allowedActions: { request: [], response: { type: 'array', items: 'string' }, doc: 'what the calling member may do on this node by its policy (run, run:CAPABILITY, approve, approve:WORKFLOW, session, deploy, read, relay); every action when it has no policy' },
  gossipPing: { request: [p('updates', { type: 'array', items: 'GossipUpdate' })], response: 'GossipAck', doc: 'a SWIM probe, with membership news piggybacked both ways' },
  gossipPingReq: { request: [p('target', 'string'), p('updates', { type: 'array', items: 'GossipUpdate' })], response: 'IndirectAck', doc: 'probe target for the caller, which could not reach it itself' },
  gossipSync: { request: [p('state', { type: 'array', items: 'GossipUpdate' })], response: { type: 'array', items: 'GossipUpdate' }, doc: 'push-pull anti-entropy: everything each side knows' },
  unlink: { request: [], response: 'boolean', doc: 'the caller is about to close this connection on purpose (its neighbourhood is full, or the work it was opened for is done): its closing is no sign of a crash' },
  neighbour: { request: [], response: 'boolean', doc: 'asks to keep this connection as a neighbour link; false when this node has its neighbourhood full (the link then serves work only and its dialler closes it when idle)' }
})

/** What the CLI and the dashboard need beyond the three protocols above. */
export const SENodeControl = protocol('SENodeControl', 'Local control of a node: listing, cancelling, following, reading the audit trail.', {
  ping: { request: [], response: 'NodeInfo' },
  listWorkflows: { request: [p('states', { type: 'array', items: 'string' })], response: { type: 'array', items: 'WorkflowStatus' } },
  cancelWorkflow: { request: [p('workflowId', 'string'), p('reason', 'string'), { name: 'signed', type: nullable('SignedDecision'), default: null }], response: 'WorkflowStatus', doc: 'signed: the person\'s decision to cancel (choice cancel, the reason as its comment), kept in the trail' },
  watchWorkflow: { request: [p('workflowId', 'string')], response: 'WorkflowStatus', stream: 'WorkflowEvent', doc: 'streams events until the workflow finishes or waits for a person' },
  listCatalogue: { request: [], response: { type: 'array', items: 'CatalogueEntry' } },
  readAudit: { request: [p('query', 'AuditQuery')], response: { type: 'array', items: 'AuditRecord' } },
  verifyAudit: { request: [], response: 'AuditVerification' },
  listNodes: { request: [], response: { type: 'array', items: 'MeshNode' }, doc: 'this node and every mesh member it knows' },
  findProviders: { request: [p('id', 'string')], response: { type: 'array', items: 'ProviderRecord' }, doc: 'nodes announcing a workflow or manifest on the DHT' },
  listArtifacts: { request: [p('workflowId', 'string')], response: { type: 'array', items: 'ArtifactRecord' }, doc: 'what the steps of a workflow this node requested published, with the nodes holding each' },
  getArtifact: { request: [p('workflowId', 'string'), p('name', 'string'), p('dir', 'string')], response: 'ArtifactRecord', doc: 'fetches an artifact (NAME, or STEP.NAME) from a node holding it, verified, to dir/its path on this node' },
  listInterventions: { request: [], response: { type: 'array', items: 'WorkflowStatus' }, doc: 'workflows waiting for a person, here and on every usable member; resumeWorkflow answers any of them' },
  deployWorkload: { request: [p('request', 'DeployRequest')], response: 'WorkloadStatus', doc: 'validates a Pod or Deployment manifest and runs it on this node' },
  deployWorkloadWatch: { request: [p('request', 'DeployRequest')], response: 'WorkloadStatus', stream: 'WorkloadEvent', doc: 'deployWorkload, streaming its progress (accepted, pull, create, start, deployed, health: the first health look); a caller that goes away leaves the deploy going' },
  listWorkloads: { request: [], response: { type: 'array', items: 'WorkloadStatus' } },
  removeWorkload: { request: [p('id', 'string')], response: 'WorkloadStatus' },
  workloadStats: { request: [p('id', nullable('string'))], response: { type: 'array', items: 'ContainerStats' } },
  workloadLogs: { request: [p('id', 'string'), p('follow', 'boolean'), p('tail', 'int')], response: 'boolean', stream: 'WorkloadLogLine', doc: 'the last lines of each container, then new ones while following' },
  watchWorkloads: { request: [], response: 'boolean', stream: 'WorkloadEvent', doc: 'workload events until the caller cancels' }
})

/** Sessions: answered by the node that holds them, reached through any member of its mesh. */
export const SESession = protocol('SESession', 'Interactive se> sessions that live on a node and outlast their clients.', {
  sessionNew: { request: [p('owner', 'string'), p('name', nullable('string')), p('node', nullable('string'))], response: 'SessionInfo', doc: 'opens a session for owner, on this node or the named member' },
  sessionList: { request: [p('owner', 'string')], response: { type: 'array', items: 'SessionInfo' }, doc: "owner's open sessions here and on every usable member" },
  sessionAttach: { request: [p('sessionId', 'string'), p('owner', 'string'), p('fromSeq', 'long')], response: 'SessionInfo', stream: 'SessionOutput', doc: 'the kept output from fromSeq, then live output until the caller detaches or the session closes' },
  sessionInput: { request: [p('sessionId', 'string'), p('owner', 'string'), p('line', 'string')], response: 'long', doc: 'queues a line to run in the session; answers how many lines run before it' },
  sessionClose: { request: [p('sessionId', 'string'), p('owner', 'string')], response: 'SessionInfo' }
})

export const PROTOCOLS: readonly ProtocolDeclaration[] = [SENodeCoordination, SENodeCapabilities, SPlectrumEngine, SEMeshPeer, SENodeControl, SESession]

/** The protocols the NodeApi answers: all but SEMeshPeer, which only mesh members speak. */
export const NODE_PROTOCOLS: readonly ProtocolDeclaration[] = [SENodeCoordination, SENodeCapabilities, SPlectrumEngine, SENodeControl, SESession]
