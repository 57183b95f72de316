// Every PostgreSQL hook and callback the extension uses is installed in one
// place, process_hooks.cpp, each once, in the order documented there (and in
// docs/DESIGN.md, "Process plumbing"). A subsystem contributes a part of a
// hook (log_redaction.hpp, principal.hpp, background.hpp), never a hook.
#pragma once

namespace insight {

// From _PG_init, once per process. preloaded: the library is in
// shared_preload_libraries (the workers' parts are installed only then).
void InstallHooks(bool preloaded);

}  // namespace insight
