# Puma configuration for the x17r recorders: single mode (no workers), one TCP listener, the idle
# keep-alive timeout from the environment. Environment: X17R_BIND (tcp://HOST:PORT),
# X17R_PERSISTENT_TIMEOUT (seconds; Puma's default is 20), X17R_THREADS (default 16: Puma 5 holds a
# thread for FAST_TRACK_KA_TIMEOUT = 0.2 s after each response waiting for the next request, so
# several concurrent clients need as many threads), X17R_PID (pid file).
bind ENV.fetch('X17R_BIND')
persistent_timeout Integer(ENV['X17R_PERSISTENT_TIMEOUT']) if ENV['X17R_PERSISTENT_TIMEOUT']
threads_count = Integer(ENV.fetch('X17R_THREADS', '16'))
threads threads_count, threads_count
workers 0
environment 'production'
log_requests false
quiet true
pidfile ENV['X17R_PID'] if ENV['X17R_PID']
