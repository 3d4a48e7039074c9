{
  "targets": [
    {
      "target_name": "miredo_native",
      "sources": [
        "src/os/native/addon.cc",
        "src/os/native/errors.cc",
        "src/os/native/memory.cc",
        "src/os/native/packet_io.cc",
        "src/os/native/packet_slots.cc",
        "src/os/native/process.cc",
        "src/os/native/readiness.cc",
        "src/os/native/sockets.cc",
        "src/os/native/tun.cc",
        "src/os/native/udp_batch.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror"]
    },
    {
      "target_name": "miredo_engine_launch",
      "type": "executable",
      "sources": ["src/os/native/engine_launch.cc"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
