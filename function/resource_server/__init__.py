"""The Custom::CognitoResourceServer provider, laid out in the order its data flows:

event -> contract -> plan -> cognito -> outputs -> answer
"""
