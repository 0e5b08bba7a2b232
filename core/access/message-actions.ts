// The policy action each public Avro IPC message needs, as ROUTE_ACTIONS in
// core/http/api.ts is for HTTP routes: one table, typed over PUBLIC_MESSAGES, so
// a message added to the protocol does not compile until someone decides what it takes.
import type { PUBLIC_MESSAGES } from '../protocol/avpr.js'
import type { PolicyAction } from './policy.js'

export type PublicMessage = typeof PUBLIC_MESSAGES[number]

/** null: every token holder may (the node says who it is and what it can, nothing more). */
export const MESSAGE_ACTIONS: Readonly<Record<PublicMessage, PolicyAction | null>> = {
  ping: null,
  getCapabilities: null,
  executeWorkflow: 'run',
  execute: 'run',
  executeBatch: 'run',
  resumeWorkflow: 'approve',
  // Cancelling ends a workflow someone may be waiting to approve: it takes approve, as over HTTP.
  cancelWorkflow: 'approve',
  deployWorkload: 'deploy',
  removeWorkload: 'deploy',
  listNodes: 'read',
  findNodesForWorkflow: 'read',
  findProviders: 'read',
  listArtifacts: 'read',
  // It writes the artifact's files into a directory of this node's choosing by the caller: more than reading.
  getArtifact: 'run',
  getWorkflowStatus: 'read',
  listWorkflows: 'read',
  listInterventions: 'read',
  listCatalogue: 'read',
  readAudit: 'read',
  verifyAudit: 'read',
  getDistributedAuditSummary: 'read',
  listWorkloads: 'read',
  workloadStats: 'read'
}
