// Serving this node's artifacts to one member over its artifact channel. The
// member is who the mesh handshake proved it is; it gets an artifact's manifest
// only if it is the workflow's requester or shows the requester's grant, and
// then that artifact's chunks on this connection. Anyone else is refused, and
// the refusal is audited here, on the serving node.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import type { Crypto } from '../ports.js'
import type { AuditInput } from '../audit/log.js'
import type { ArtifactIndex } from './artifact-index.js'
import { grantHolds } from './grant.js'
import type { Serve } from './link.js'
import { encodeManifest, type Manifest } from './manifest.js'
import type { ArtifactStore } from './store.js'
import { KIND } from './wire.js'

export interface ServerDeps {
  store: ArtifactStore
  index: ArtifactIndex
  crypto: Crypto
  audit: (input: AuditInput) => void
  /** How people know the member: `name (key)`. */
  memberName: (nodeId: string) => string
  /**
   * TEST FAULT (SE_TEST_CORRUPT_ARTIFACT_CHUNKS=N): the next N chunks this node serves go out
   * with a byte flipped, so a test can see the fetching node refuse and fetch them again.
   */
  faults: { corruptChunks: number }
}

/** The requests of one member, on one connection. */
export function serveMember (d: ServerDeps, memberId: string): Serve {
  /** Artifacts this member was let have on this connection, by hash. */
  const granted = new Map<string, Manifest>()
  const audited = new Set<string>()
  return async request => {
    const h = request.header
    if (request.kind === KIND.MANIFEST_REQUEST) {
      const workflowId = String(h.workflowId)
      const hash = String(h.hash)
      const held = await d.index.get(workflowId)
      const record = held?.records.find(r => r.hash === hash)
      const manifest = record === undefined ? null : await d.store.manifest(hash)
      if (held === null || record === undefined || manifest === null) throw SeError.artifactNotHeld(workflowId, hash)
      const may = memberId === held.requesterId || grantHolds(d.crypto, typeof h.grant === 'string' ? h.grant : '', held.requesterId, workflowId, hash, memberId)
      if (!may) {
        const who = d.memberName(memberId)
        // Once per connection and artifact: a member retrying must not flood the trail.
        if (!audited.has(hash)) {
          audited.add(hash)
          d.audit({ event: 'artifact_refused', message: `${who} asked for artifact ${record.name} (${hash.slice(0, 12)}) of workflow ${workflowId}, in which it has no step (not its requester, no grant from it); refused`, workflowId, domains: ['artifact', 'mesh', 'security'] })
        }
        throw SeError.artifactRefused(who, workflowId, record.name, hash)
      }
      granted.set(hash, manifest)
      return { kind: KIND.MANIFEST, header: {}, payload: encodeManifest(manifest) }
    }
    const hash = String(h.hash)
    const file = Number(h.file)
    const chunk = Number(h.chunk)
    const manifest = granted.get(hash)
    const entry = manifest?.files[file]
    if (entry === undefined || !Number.isInteger(chunk) || chunk < 0 || chunk >= entry.chunks.length) throw SeError.artifactBadMessage(memberId, `no chunk ${chunk} of file ${file} of an artifact it was given (${hash.slice(0, 12)})`)
    let data = await d.store.readChunk(hash, file, chunk)
    if (d.faults.corruptChunks > 0 && data.byteLength > 0) {
      d.faults.corruptChunks--
      data = b4a.from(data)
      data[0] = (data[0] as number) ^ 0xff
    }
    return { kind: KIND.CHUNK, header: {}, payload: data }
  }
}
