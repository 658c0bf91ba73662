"""rabbitmq's library: the cluster, its credentials, the amqp users, actions."""
