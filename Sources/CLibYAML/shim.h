#ifndef CHORUS_CLIBYAML_SHIM_H
#define CHORUS_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
