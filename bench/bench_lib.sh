# Helpers shared by the benchmark scripts (sourced, not run).

# free_port: a TCP port of 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port <port>: until something accepts on 127.0.0.1:<port>, 10 s at most.
wait_port() {
	local port=$1 i
	for i in $(seq 1 200); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "port $port never opened" >&2
	return 1
}
