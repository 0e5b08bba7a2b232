// Limits and defaults in one place, so no number hides in the middle of logic.

export const VERSION = '0.1.0'

export const EXECUTION_CONTEXT = 'SE_DISTRIBUTED'

/** Bytes of stdout/stderr kept per step: the tail, the newest output. */
export const OUTPUT_TAIL_BYTES = 16 * 1024
/** Largest single RPC frame a peer may send; larger ones close the connection. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024
/** Workflows that run at once on one node; the rest wait in `pending`. */
export const MAX_CONCURRENT_WORKFLOWS = 8
/** Longest timeout a step may ask for: a week. */
export const MAX_STEP_TIMEOUT_SEC = 7 * 24 * 3600
/** A matrix step may have at most this many instances: each is an entry the engine keeps and persists. */
export const MAX_MATRIX_INSTANCES = 256
/** A retry's wait doubles from its backoffSec up to this. */
export const MAX_RETRY_BACKOFF_SEC = 3600
/** How long running steps may finish after SIGTERM before they are checkpointed. */
export const SHUTDOWN_GRACE_MS = 10_000
/** How long an RPC call waits for its reply by default. */
export const RPC_TIMEOUT_MS = 30_000
/** How long a question to the whole mesh (waiting interventions, sessions) waits for slow members. */
export const MESH_QUERY_TIMEOUT_MS = 5_000
/** How often the audit head checkpoint is rewritten while entries arrive. */
export const AUDIT_HEAD_INTERVAL_MS = 1000
/** How often audit entries that could not be written (a full disk) are tried again. */
export const AUDIT_BACKLOG_RETRY_MS = 2000
/** A workflow whose state cannot be written tries again after this, doubling up to STATE_RETRY_MAX_MS. */
export const STATE_RETRY_MS = 250
export const STATE_RETRY_MAX_MS = 5000

export const DEFAULT_TOOLS = ['git', 'node', 'npm', 'podman', 'docker', 'python3', 'make', 'go', 'cargo', 'java', 'tmux', 'ssh', 'curl']
export const DEFAULT_CREDENTIALS = ['GITHUB_TOKEN', 'GH_TOKEN', 'GITLAB_TOKEN', 'NPM_TOKEN', 'AWS_ACCESS_KEY_ID', 'AZURE_CLIENT_ID', 'GOOGLE_APPLICATION_CREDENTIALS', 'SSH_AUTH_SOCK', 'DOCKER_AUTH_CONFIG']

export const WORKFLOW_STATES = ['pending', 'running', 'waiting_intervention', 'waiting_node', 'completed', 'failed', 'cancelled'] as const
export const STEP_STATES = ['pending', 'running', 'waiting_intervention', 'completed', 'failed', 'skipped'] as const
export const FAILURE_CHOICES = ['retry', 'skip', 'abort'] as const
export const DEFAULT_INTERVENTION_CHOICES = ['approve', 'reject'] as const
/** Choices that end a workflow when picked at an intervention step. */
export const STOPPING_CHOICES = ['reject', 'abort'] as const
/** Share of the machine's memory that workloads' limits may add up to, unless SE_MEMORY_BUDGET says otherwise. */
export const DEFAULT_MEMORY_BUDGET_SHARE = 0.75

/** Output a session keeps for clients that attach later: the newest entries within both bounds. */
export const SESSION_TRANSCRIPT_BYTES = 256 * 1024
export const SESSION_TRANSCRIPT_ENTRIES = 2000
/** Lines of input a session remembers for `history`. */
export const SESSION_HISTORY = 200
/** A session nobody typed into or watched for this long is closed (SE_SESSION_IDLE_SEC). */
export const SESSION_IDLE_MS = 8 * 3600_000
/** How often idle sessions are looked for, at most. */
export const SESSION_SWEEP_MS = 30_000
/** Output without a newline is kept back to show whole lines, up to this much. */
export const SESSION_PARTIAL_LINE_CHARS = 64 * 1024
/** While a command prints, its session is written to disk at most this often. */
export const SESSION_SAVE_MS = 1000
