// A person's own key pair, kept in a file of theirs (0600): the key their decisions
// are signed with (decision.ts). The file is JSON so a person can read which key it
// is; the secret part is checked to belong to the public part before it is used.
import b4a from 'b4a'
import { SeError } from '../errors.js'
import { fromHex, toHex } from '../hex.js'
import type { Crypto, KeyPair } from '../ports.js'

export const PERSON_KEY_VERSION = 1

export interface PersonKeyFile { version: number, name: string, publicKey: string, secretKey: string, createdAt: string }

export function encodePersonKey (key: KeyPair, name: string, createdAt: string): string {
  const file: PersonKeyFile = { version: PERSON_KEY_VERSION, name, publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey), createdAt }
  return JSON.stringify(file, null, 2) + '\n'
}

/** The key pair and name in a key file; BAD_INPUT naming the file and what is wrong. */
export function decodePersonKey (crypto: Crypto, text: string, file: string): { key: KeyPair, name: string } {
  let raw: Partial<PersonKeyFile>
  try {
    raw = JSON.parse(text) as Partial<PersonKeyFile>
  } catch (err) {
    throw SeError.badPersonKey(file, 'it is not JSON', err)
  }
  if (raw?.version !== PERSON_KEY_VERSION) throw SeError.badPersonKey(file, `its version is ${JSON.stringify(raw?.version)}, not ${PERSON_KEY_VERSION}`)
  if (typeof raw.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(raw.publicKey)) throw SeError.badPersonKey(file, 'publicKey is not 64 hex characters')
  if (typeof raw.secretKey !== 'string' || !/^[0-9a-f]{128}$/.test(raw.secretKey)) throw SeError.badPersonKey(file, 'secretKey is not 128 hex characters')
  const key: KeyPair = { publicKey: fromHex(raw.publicKey), secretKey: fromHex(raw.secretKey) }
  // A secret that does not go with the public key would sign decisions nobody can check.
  const probe = b4a.from('se-mesh/person-key/probe', 'utf8')
  if (!crypto.verify(probe, crypto.sign(probe, key.secretKey), key.publicKey)) throw SeError.badPersonKey(file, 'its secretKey does not belong to its publicKey')
  return { key, name: typeof raw.name === 'string' && raw.name !== '' ? raw.name : 'unnamed' }
}
