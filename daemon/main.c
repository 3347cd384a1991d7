/* swarm-spoa: the agent daemon. */
#include "daemon/agent.h"
#include "daemon/options.h"

int main(int argc, char **argv)
{
	struct options opts;
	int rc;

	options_parse(&opts, argc, argv);
	rc = agent_run(&opts);
	options_release();
	return rc;
}
