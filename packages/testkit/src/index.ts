/**
 * @regcache/testkit — real parts for tests: Debian's docker-registry in plain, Basic and
 * token auth modes, a token server, a TLS front (an https:// upstream with a test CA), an
 * HTTP forward proxy (CONNECT and absolute-form requests),
 * generated images pushed with skopeo, and skopeo pulls.
 */
export { onProcessExit } from './cleanup.js';
export { sha256, sha256File, digestHex } from './digest.js';
export { ACCEPT_ALL_MANIFESTS, MediaTypes, isIndexMediaType } from './media-types.js';
export { blobOf, buildImage, writeOciLayout } from './oci-layout.js';
export type { Descriptor, GeneratedBlob, LayoutImage, OciLayoutResult } from './oci-layout.js';
export { startBlobHost } from './blob-host.js';
export type { BlobHost, BlobHostRequest } from './blob-host.js';
export type { BodyFault } from './fault-damage.js';
export { startFaultProxy } from './fault-proxy.js';
export type { Fault, FaultOptions, FaultProxy, ProxiedRequest } from './fault-proxy.js';
export { startForwardProxy } from './forward-proxy.js';
export type { ForwardProxy, ProxiedCall } from './forward-proxy.js';
export { complete, hashedGet } from './hashed-get.js';
export type { Hashed, HashedGetOptions } from './hashed-get.js';
export { httpListener } from './http-listener.js';
export type { HttpListener } from './http-listener.js';
export { freePort } from './ports.js';
export { fuzzRequest, prng, rawExchange } from './http-fuzz.js';
export type { FuzzTargets } from './http-fuzz.js';
export { pushSmallImage } from './push-image.js';
export type { SmallImage } from './push-image.js';
export { runChecked, runCommand, shebangNodeFlags, spawnManaged } from './process.js';
export type { CommandResult, ManagedProcess, SpawnOptions } from './process.js';
export { DEFAULT_PASSWORD, DEFAULT_USERNAME, TOKEN_ISSUER, TOKEN_SERVICE } from './registry-auth.js';
export { authorizationFor, deleteManifest, fetchManifest, pushBlob, pushManifest, registryRequest } from './registry-client.js';
export type { FetchedManifest, RegistryRequest, RegistryResponse } from './registry-client.js';
export { parseAccessLine, TESTKIT_USER_AGENT } from './registry-log.js';
export type { RegistryLogEntry } from './registry-log.js';
export { probe } from './registry-process.js';
export { startRegistry } from './registry.js';
export type { RegistryAuthMode, RunningRegistry, StartRegistryOptions } from './registry.js';
export { describeImage, randomLayer, seedImages } from './seed.js';
export type { TestBlob, TestImage } from './seed.js';
export { libtrustKeyId } from './signing-key.js';
export type { JwtAlgorithm } from './signing-key.js';
export { skopeo, dockerRef } from './skopeo.js';
export { skopeoPull } from './skopeo-pull.js';
export type { SkopeoPullOptions, SkopeoPullResult } from './skopeo-pull.js';
export { makeTar, makeTarLayer } from './tar.js';
export { removeTempDirs, tempDir } from './tmp.js';
export { mountTmpfs } from './tmpfs.js';
export type { Tmpfs } from './tmpfs.js';
export { reportFigures, scaled, suiteScale } from './suite.js';
export type { Figures, SuiteScale } from './suite.js';
export { startTlsFront } from './tls-front.js';
export { TEST_CA_PEM } from './tls-fixtures.js';
export type { TlsFront } from './tls-front.js';
export { startTokenServer } from './token-server.js';
export type { RunningTokenServer, TokenAccess, TokenRequestLog, TokenServer, TokenServerOptions } from './token-server.js';
