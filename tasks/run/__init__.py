"""The run skeleton every flow shares (prepare, publish, deliver): the top layer of tasks/."""
