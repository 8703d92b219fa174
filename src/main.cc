// regsweep: parse the command line and dispatch (everything else lives in the rooms).
#include "cli/cli.h"

int main(int argc, char** argv) { return regsweep::cli::run(argc, argv); }
