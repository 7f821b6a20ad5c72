"""gateway/oauth"""
