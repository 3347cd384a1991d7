/* swarm-spoa: the agent daemon. */
#include "spoa/agent.h"
#include "spoa/options.h"

int main(int argc, char **argv)
{
	struct options opts;

	options_parse(&opts, argc, argv);
	return agent_run(&opts);
}
