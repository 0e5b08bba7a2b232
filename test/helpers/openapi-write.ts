// Writes docs/openapi.json from the code: `npx tsx test/helpers/openapi-write.ts`
// after changing a route or a protocol record (test/e2e-http.test.ts checks it).
import { writeFileSync } from 'node:fs'
import { OPENAPI_FILE, openApiText } from './openapi.js'

writeFileSync(OPENAPI_FILE, openApiText())
console.log(`wrote ${OPENAPI_FILE}`)
