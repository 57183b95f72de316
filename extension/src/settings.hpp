// Every insight.* setting is defined in one table (settings.cpp): its name,
// descriptions, default, bounds, context and unit. The variables behind them
// live with the code that reads them and are declared in that code's header;
// settings.cpp only defines the settings (docs/DESIGN.md, "Process plumbing").
#pragma once

namespace insight {

// Defines every setting, then reserves the insight.* prefix (an unknown
// insight.* name is then an error). Settings whose context is PGC_POSTMASTER
// exist only when preloading: PostgreSQL refuses to define them later.
// Called once, from _PG_init.
void DefineSettings(bool preloading);

}  // namespace insight
