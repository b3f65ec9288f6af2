"""meshinject.inject"""
