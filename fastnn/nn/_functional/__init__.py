"""Implementation files of fastnn.nn.functional, one per family of ops."""
