{
  "targets": [
    {
      "target_name": "regcache_sendfile",
      "sources": ["src/sendfile.c", "src/receive.c", "src/replay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
