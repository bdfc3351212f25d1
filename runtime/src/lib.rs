//! specgate runtime (skeleton)
