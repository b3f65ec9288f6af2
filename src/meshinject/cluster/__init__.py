"""meshinject.cluster"""
