/**
 * nginx.conf of baseline 2: nginx as a registry pull-through cache, set up the way a competent
 * operator would — not tuned down:
 * - blobs and manifests by digest are immutable: cached 30 days; manifests by tag 5 minutes
 *   (regcache's default tag TTL); manifests keyed with the Accept header (media-type
 *   negotiation), blobs by URI alone; HEAD answered from the cached GET (proxy_cache_convert_head);
 * - proxy_cache_lock on with lock timeout/age long enough for a 256 MiB fill, so concurrent
 *   misses share one upstream fetch; Cache-Control / Expires / Set-Cookie / Vary of the
 *   upstream ignored; cache written in place (use_temp_path=off);
 * - sendfile + tcp_nopush, keep-alive to clients and a keep-alive pool to the upstream, one
 *   worker per core (auto), access log off; all paths under its own temp directory.
 */

export interface NginxConfigInput {
  dir: string;
  port: number;
  upstreamHost: string;
  /** Run workers as root (when the harness runs as root: temp dirs are 0700). */
  asRoot: boolean;
}

const DIGEST = 'sha256:[a-f0-9]{64}';

function cacheLocation(pattern: string, key: string, validity: string): string[] {
  return [
    `    location ~ "${pattern}" {`,
    '      proxy_pass http://registry_upstream;',
    '      proxy_cache registry;',
    `      proxy_cache_key ${key};`,
    `      proxy_cache_valid 200 ${validity};`,
    '      proxy_cache_valid 404 10s;',
    '      add_header X-Cache-Status $upstream_cache_status always;',
    '    }',
  ];
}

/** The config text. */
export function nginxConfig(input: NginxConfigInput): string {
  const d = input.dir;
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes auto;',
    ...(input.asRoot ? ['user root;'] : []),
    `pid ${d}/nginx.pid;`,
    `error_log ${d}/error.log warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  tcp_nodelay on;',
    '  keepalive_timeout 65s;',
    '  keepalive_requests 1000000;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${d}/client_body;`,
    `  proxy_temp_path ${d}/proxy_temp;`,
    `  fastcgi_temp_path ${d}/fastcgi_temp;`,
    `  uwsgi_temp_path ${d}/uwsgi_temp;`,
    `  scgi_temp_path ${d}/scgi_temp;`,
    `  proxy_cache_path ${d}/cache levels=1:2 keys_zone=registry:16m max_size=20g inactive=30d use_temp_path=off;`,
    '  upstream registry_upstream {',
    `    server ${input.upstreamHost};`,
    '    keepalive 64;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${input.port} backlog=4096;`,
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection "";',
    '    proxy_set_header Host $http_host;',
    '    proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;',
    '    proxy_cache_lock on;',
    '    proxy_cache_lock_timeout 10m;',
    '    proxy_cache_lock_age 10m;',
    '    proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;',
    '    proxy_read_timeout 300s;',
    '    proxy_buffers 64 64k;',
    '    client_max_body_size 0;',
    ...cacheLocation(`^/v2/.+/blobs/${DIGEST}$`, '$uri', '30d'),
    ...cacheLocation(`^/v2/.+/manifests/${DIGEST}$`, '$uri$http_accept', '30d'),
    ...cacheLocation('^/v2/.+/manifests/[^/]+$', '$uri$http_accept', '5m'),
    '    location /v2/ {',
    '      proxy_pass http://registry_upstream;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}
