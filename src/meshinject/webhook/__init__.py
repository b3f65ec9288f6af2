"""meshinject.webhook"""
